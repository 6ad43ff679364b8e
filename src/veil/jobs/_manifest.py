"""The job manifest: one JSON line per input, appended as each item finishes, read back to resume."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_NAME", "Manifest", "ManifestRecord"]

logger = logging.getLogger(__name__)

MANIFEST_NAME = "veil-manifest.jsonl"


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    """What happened to one input of a folder job.

    Attributes:
        input: The input file, relative to the folder it was found in.
        input_sha256: Checksum of the input when it was processed.
        output: The output file, relative to the output folder ("" when none).
        status: ``done``, ``failed``, ``skipped`` (not an image or video) or ``copied``.
        faces: Faces found (and obfuscated).
        detector: The detector used.
        error: The one-line reason, for failures.
        ms: Processing time.
    """

    input: str
    input_sha256: str
    output: str
    status: str
    faces: int = 0
    detector: str = ""
    error: str = ""
    ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Manifest:
    """An append-only JSON-lines file, fsynced after every record.

    A job killed at any moment leaves at most one partial last line, which is
    ignored when the manifest is read back.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, ManifestRecord] = {}
        text = path.read_text() if path.is_file() else ""
        # A line cut short by a kill must not swallow the next record.
        self._needs_newline = bool(text) and not text.endswith("\n")
        self._read(text)

    def _read(self, text: str) -> None:
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                record = ManifestRecord(**json.loads(line))
            except (json.JSONDecodeError, TypeError):
                logger.warning("%s: ignoring unreadable line %d (an interrupted write)", self.path, number)
                continue
            self.records[record.input] = record  # the latest record of an input wins

    def finished(self, relative: str, sha256: str) -> ManifestRecord | None:
        """The record of an input already done (or skipped, or copied) with this same content."""
        record = self.records.get(relative)
        if record is not None and record.status != "failed" and record.input_sha256 == sha256:
            return record
        return None

    def append(self, record: ManifestRecord) -> None:
        """Add a record and make it durable before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            if self._needs_newline:
                handle.write("\n")
                self._needs_newline = False
            handle.write(json.dumps(record.to_dict()) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.records[record.input] = record
