"""``veil serve`` in a subprocess: killed (SIGKILL) during a cloak job, restarted, the job finishes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pytest
from tests.service._server import Server, veil
from tests.service.conftest import encode

pytestmark = pytest.mark.slow


def _wait(client: httpx.Client, url: str, statuses: set[str], timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = client.get(url).json()
        if state["status"] in statuses:
            return state
        time.sleep(0.2)
    raise AssertionError(f"{url} not in {statuses} after {timeout_s} s: {state}")


def test_jobs_survive_a_killed_server(tmp_path: Path, small_astronaut: np.ndarray) -> None:
    data_dir = tmp_path / "data"
    key = veil("keys", "create", "e2e", "--data-dir", str(data_dir)).stdout.strip()
    assert key.startswith("veil_")
    first = Server(data_dir).start()
    headers = {"Authorization": f"Bearer {key}"}
    photo = {"file": ("astronaut.png", encode(small_astronaut), "image/png")}
    try:
        with httpx.Client(base_url=first.url, headers=headers, timeout=30) as client:
            finished = client.post("/v1/anonymize/jobs", files=photo).json()
            _wait(client, finished["url"], {"done"}, 60)
            job = client.post(
                "/v1/cloak", files=photo, data={"mode": "low", "models": "sface", "card": "false"}
            ).json()
            running = _wait(client, job["url"], {"running"}, 60)
            assert running["progress"]["done"] == 0  # the photo takes seconds: the kill lands inside it
            assert first.process is not None
            workers = psutil.Process(first.process.pid).children(recursive=True)
            assert workers
            first.kill()
        # Orphaned workers notice that their server is gone and leave, rather than finish the job alone.
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive
        second = Server(data_dir, first.port).start()
        try:
            with httpx.Client(base_url=second.url, headers=headers, timeout=30) as client:
                assert client.get(job["url"]).json()["status"] in {"running", "queued"}
                done = _wait(client, job["url"], {"done", "failed"}, 120)
                assert done["status"] == "done"
                assert done["progress"] == {"done": 1, "failed": 0, "total": 1}
                result = client.get(done["items"][0]["result_url"])
                assert result.status_code == 200
                assert result.headers["content-type"] == "image/png"
                # A job that finished before the crash is still there, results and all.
                earlier = client.get(finished["url"]).json()
                assert earlier["status"] == "done"
                assert client.get(earlier["items"][0]["result_url"]).status_code == 200
        finally:
            second.stop()
    finally:
        first.stop()
    log = (tmp_path / f"server-{first.port}.log").read_text()
    assert "queued again" in log
    assert f"job {job['id']}: cloak, 1 photos (attempt 2)" in log  # resumed by the new server's worker
    assert key not in log
