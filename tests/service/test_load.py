"""A bounded load test from loopback: 200 anonymize requests, 8 at a time, against ``veil serve``."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
from tests.service._server import Server, veil
from tests.service.conftest import encode

pytestmark = pytest.mark.slow

REQUESTS = 200
CONCURRENCY = 8
# The server holds the detector (YuNet, a few MB) and up to 8 photos in flight at a time;
# growth beyond this over 200 requests would mean something leaks per request.
MAX_RSS_GROWTH_MB = 100
MAX_RSS_MB = 1024


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    data_dir = tmp_path / "data"
    key = veil("keys", "create", "load", "--data-dir", str(data_dir)).stdout.strip()
    running = Server(data_dir, None, "--workers", "0", "--rate-per-minute", "100000").start()
    try:
        yield running, key
    finally:
        running.stop()


def test_200_anonymize_requests_8_at_a_time(server: tuple[Server, str], small_astronaut: np.ndarray) -> None:
    running, key = server
    photo = encode(small_astronaut)
    assert running.process is not None
    process = psutil.Process(running.process.pid)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    with httpx.Client(
        base_url=running.url, headers={"Authorization": f"Bearer {key}"}, timeout=60, limits=limits
    ) as client:

        def anonymize(_: int) -> tuple[int, int]:
            response = client.post("/v1/anonymize", files={"file": ("a.png", photo, "image/png")})
            return response.status_code, len(response.content)

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            warm = list(pool.map(anonymize, range(2 * CONCURRENCY)))  # loads the detector
            baseline_mb = process.memory_info().rss / 2**20
            results = list(pool.map(anonymize, range(REQUESTS)))
        after_mb = process.memory_info().rss / 2**20
    assert {code for code, _ in warm + results} == {200}
    assert all(size > 10_000 for _, size in results)
    assert after_mb - baseline_mb < MAX_RSS_GROWTH_MB, (baseline_mb, after_mb)
    assert after_mb < MAX_RSS_MB, after_mb
    assert not any((running.data_dir / "tmp").iterdir())  # every temporary file was removed
    log = running.log.read_text()
    assert log.count('POST /v1/anonymize HTTP/1.1" 200') == REQUESTS + 2 * CONCURRENCY
    assert "Bearer" not in log and key not in log
