"""``veil keys create|revoke|list`` and ``veil serve --help`` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from veil.cli import app
from veil.service import ServiceSettings
from veil.service._store import Store

runner = CliRunner()


def test_keys_create_prints_the_key_once_and_revoke_stops_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    created = runner.invoke(app, ["keys", "create", "uploads", "--data-dir", str(data_dir)])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("veil_") and len(key) > 40
    assert "not shown again" in created.stderr
    store = Store(ServiceSettings(data_dir=data_dir.resolve())).open()
    assert store.check_key(key) is not None
    again = runner.invoke(app, ["keys", "create", "uploads", "--data-dir", str(data_dir)])
    assert again.exit_code == 2
    assert "exists" in again.stderr
    listed = runner.invoke(app, ["keys", "list", "--data-dir", str(data_dir)])
    assert listed.exit_code == 0
    assert "uploads" in listed.stderr and key not in listed.output
    revoked = runner.invoke(app, ["keys", "revoke", "uploads", "--data-dir", str(data_dir)])
    assert revoked.exit_code == 0, revoked.output
    assert store.check_key(key) is None
    store.close()
    unknown = runner.invoke(app, ["keys", "revoke", "uploads", "--data-dir", str(data_dir)])
    assert unknown.exit_code == 2
    assert "no active API key" in unknown.stderr


def test_database_setting_refuses_unknown_schemes(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["keys", "create", "k", "--data-dir", str(tmp_path), "--database", "mysql://x/y"]
    )
    assert result.exit_code == 2
    assert "unknown database" in result.stderr


def test_serve_help_states_the_defaults() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--data-dir", "--database", "--workers", "--max-upload-mb"):
        assert option in result.stdout


def test_serve_defaults_are_the_service_defaults() -> None:
    import inspect

    from veil.cli._serve import serve
    from veil.service import _settings

    defaults = {name: p.default for name, p in inspect.signature(serve).parameters.items()}
    assert defaults["host"] == _settings.DEFAULT_HOST and defaults["port"] == _settings.DEFAULT_PORT
    assert defaults["workers"] == _settings.DEFAULT_WORKERS
    assert defaults["max_upload_mb"] * 1024 * 1024 == _settings.DEFAULT_MAX_UPLOAD_BYTES
    assert defaults["max_megapixels"] == _settings.DEFAULT_MAX_MEGAPIXELS
    assert defaults["sync_max_megapixels"] == _settings.DEFAULT_SYNC_MAX_MEGAPIXELS
    assert defaults["rate_per_minute"] == _settings.DEFAULT_RATE_PER_MINUTE
    assert defaults["job_ttl_s"] == _settings.DEFAULT_JOB_TTL_S
