"""Service benchmark: anonymize requests per second and latency through ``veil serve`` on loopback.

Starts ``veil serve`` (no job workers) with a fresh data folder and key, then posts
the astronaut photo (512 x 512 PNG) to ``POST /v1/anonymize`` from 1, 4 and 8
concurrent clients. The peer is the library itself in this process (``veil.blur``
and ``veil.write_image``, what the endpoint calls), so the ratios are what HTTP,
multipart parsing, the key check and the response cost. Clients and server share
this machine's cores.

Run: ``python benchmarks/service.py [--requests N]``. Writes ``benchmarks/results/service.json``.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

import veil
from _common import environment, print_table, write_results

CLIENTS = (1, 4, 8)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "veil", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    server = subprocess.Popen(
        [*command, "--workers", "0", "--rate-per-minute", "10000000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    sys.exit("veil serve did not start within 60 s")


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def run_clients(url: str, key: str, photo: bytes, clients: int, requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients)
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60, limits=limits
    ) as http:

        def one(_: int) -> int:
            start = time.perf_counter()
            response = http.post("/v1/anonymize", files={"file": ("astronaut.png", photo, "image/png")})
            latencies.append((time.perf_counter() - start) * 1000)
            return response.status_code

        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, range(2 * clients)))  # warm connections and the detector
            latencies.clear()
            start = time.perf_counter()
            codes = list(pool.map(one, range(requests)))
            seconds = time.perf_counter() - start
    return {
        "clients": clients,
        "requests": requests,
        "errors": sum(code != 200 for code in codes),
        "rps": requests / seconds,
        "p50_ms": _percentile(latencies, 50),
        "p95_ms": _percentile(latencies, 95),
    }


def library_rps(image: np.ndarray, requests: int, folder: Path) -> dict[str, Any]:
    """The peer: the same work in process, one photo at a time (decode, blur, encode)."""
    data = _png(image)
    latencies = []
    veil.blur(image)  # load the detector
    for index in range(requests):
        start = time.perf_counter()
        blurred = veil.blur(veil.decode_image(data))
        path = veil.write_image(blurred.image, folder / f"{index}.png")
        path.read_bytes()
        path.unlink()
        latencies.append((time.perf_counter() - start) * 1000)
    total_s = sum(latencies) / 1000
    return {
        "clients": "library (in process)",
        "requests": requests,
        "errors": 0,
        "rps": requests / total_s,
        "p50_ms": _percentile(latencies, 50),
        "p95_ms": _percentile(latencies, 95),
    }


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="Requests per concurrency level.")
    args = parser.parse_args()
    from skimage import data as skimage_data

    load_before = os.getloadavg()
    image = np.ascontiguousarray(skimage_data.astronaut())
    photo = _png(image)
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        made = subprocess.run(
            [sys.executable, "-m", "veil", "keys", "create", "bench", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        key = made.stdout.strip()
        port = _free_port()
        server = _start(data_dir, port)
        try:
            rows = [run_clients(f"http://127.0.0.1:{port}", key, photo, n, args.requests) for n in CLIENTS]
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
        peer = library_rps(image, args.requests, Path(folder))
    rows.append(peer)
    print_table(
        "veil serve: POST /v1/anonymize (512x512 PNG)",
        rows,
        ["clients", "requests", "errors", "rps", "p50_ms", "p95_ms"],
    )
    result = {
        "benchmark": "service",
        "env": {
            **environment("fastapi", "uvicorn", "starlette", "httpx"),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            # Other work on the machine slows every row alike; the load average says how busy it was.
            "load_average_1min": {"before": load_before[0], "after": os.getloadavg()[0]},
        },
        "inputs": {
            "photo": "skimage.data.astronaut(), 512x512 PNG, one face",
            "endpoint": "POST /v1/anonymize (gaussian, defaults)",
            "server": "veil serve --workers 0, one uvicorn process, loopback",
            "requests_per_level": args.requests,
        },
        "rows": rows,
        "ratios": {f"rps_{row['clients']}_clients_vs_library": row["rps"] / peer["rps"] for row in rows[:-1]},
    }
    print(f"wrote {write_results('service', result)}")


if __name__ == "__main__":
    main()
