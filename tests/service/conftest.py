"""Fixtures of the service tests: a data folder, an API key, a TestClient, small photos."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from veil.service import ServiceSettings, create_api_key, create_app


def encode(image: np.ndarray, file_format: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=file_format, **options)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def small_astronaut(astronaut: np.ndarray) -> np.ndarray:
    """The astronaut at 256 x 256: one face of about 45 px, quick to blur and to cloak."""
    return np.asarray(Image.fromarray(astronaut).resize((256, 256), Image.Resampling.LANCZOS)).copy()


@pytest.fixture
def photo_png(small_astronaut: np.ndarray) -> bytes:
    return encode(small_astronaut)


@pytest.fixture
def settings(tmp_path: Path) -> ServiceSettings:
    """API-only settings: no job workers (tests of jobs ask for them)."""
    return ServiceSettings(data_dir=tmp_path / "data", workers=0, poll_s=0.2)


@pytest.fixture
def api_key(settings: ServiceSettings) -> str:
    return create_api_key(settings, "tests")


@pytest.fixture
def client(settings: ServiceSettings, api_key: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {api_key}"
        yield test_client


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Job workers on one thread each: the test machine's cores are shared."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
