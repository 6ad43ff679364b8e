"""The same store and job flow on PostgreSQL, in a throwaway cluster (skipped without initdb or psycopg)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.service._server import free_port
from tests.service.conftest import encode

from veil.service import ServiceSettings, create_api_key, create_app
from veil.service._store import Store

pytestmark = pytest.mark.slow


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


@pytest.fixture(scope="module")
def postgres_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("psycopg", reason="PostgreSQL support needs psycopg")
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    # initdb refuses to run as root; the Debian package's postgres user runs it then, in a
    # folder of its own (it cannot enter pytest's root-only temporary folders), removed below.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        folder = Path(tempfile.mkdtemp(prefix="veil-postgres-"))
        shutil.chown(folder, "postgres")
    else:
        folder = tmp_path_factory.mktemp("postgres")
    port = free_port()

    def pg(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True)

    pg(str(bin_dir / "initdb"), "-D", str(folder / "db"), "-A", "trust", "-U", "veil")
    options = f"-p {port} -k {folder} -h 127.0.0.1"
    pg(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(folder / "db"),
        "-o",
        options,
        "-l",
        str(folder / "log"),
        "-w",
        "start",
    )
    try:
        yield f"postgresql://veil@127.0.0.1:{port}/postgres"
    finally:
        pg(str(bin_dir / "pg_ctl"), "-D", str(folder / "db"), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_store_round_trip_on_postgres(postgres_dsn: str, tmp_path: Path) -> None:
    store = Store(ServiceSettings(data_dir=tmp_path / "data", database=postgres_dsn)).open()
    key = store.create_key("pg")
    assert store.check_key(key) is not None
    job = store.create_job("owner", "anonymize", {"method": "gaussian"}, [("a.png", ".png", ".png", b"x")])
    claimed = store.claim_job("elsewhere:1")
    assert claimed is not None and claimed.id == job.id and claimed.attempts == 1
    assert store.claim_job("elsewhere:2") is None  # one job, claimed once
    assert store.requeue_stale(lambda worker: True) == 1  # its worker died: queued again
    again = store.claim_job("elsewhere:3")
    assert again is not None and again.attempts == 2
    assert store.finish_item(job.id, 0, faces=1, result={"faces": 1}, error=None)
    store.finish_job(job.id)
    finished = store.get_job(job.id, "owner")
    assert finished is not None and finished.status == "done" and finished.items[0].result == {"faces": 1}
    assert store.get_job(job.id, "someone else") is None
    store.revoke_key("pg")
    assert store.check_key(key) is None
    assert store.delete_job(job.id, "owner")
    assert not (tmp_path / "data" / "jobs" / job.id).exists()
    store.close()


def test_jobs_run_on_postgres(
    postgres_dsn: str, tmp_path: Path, small_astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    settings = ServiceSettings(data_dir=tmp_path / "data", database=postgres_dsn, workers=1, poll_s=0.2)
    key = create_api_key(settings, "jobs")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {key}"}) as client:
        files = {"file": ("a.png", encode(small_astronaut), "image/png")}
        job = client.post("/v1/anonymize/jobs", files=files).json()
        deadline = time.monotonic() + 60
        while (state := client.get(job["url"]).json())["status"] not in {"done", "failed"}:
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        assert state["progress"] == {"done": 1, "failed": 0, "total": 1}
        assert client.get(state["items"][0]["result_url"]).status_code == 200
        assert client.post("/v1/anonymize", files=files).status_code == 200
