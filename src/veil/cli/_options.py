"""Options shared by several commands, with help text taken from the registries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from veil.detect import AUTO_DETECTOR, DETECTORS
from veil.embed import RECOGNIZERS
from veil.jobs import ENGINES, MANIFEST_NAME

DetectorOption = Annotated[
    str, typer.Option(help=f"Detector: auto (= {AUTO_DETECTOR}), {', '.join(DETECTORS)}.")
]
ThresholdOption = Annotated[
    float | None,
    typer.Option(help="Minimum detection score.", show_default="the detector's own, see the README"),
]
ModelOption = Annotated[
    str,
    typer.Option(help=f"Recognizer: {', '.join(RECOGNIZERS)}, or a fusion such as sface+facenet."),
]
FarOption = Annotated[
    float,
    typer.Option(help="False accept rate to decide at: 1e-2, 1e-3 or 1e-4."),
]
FallbackOption = Annotated[
    bool, typer.Option(help="With no face found, use a centred crop (and warn) instead of failing.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]
PhotosArgument = Annotated[list[Path], typer.Argument(help="Photos and folders (searched recursively).")]

# Folder jobs (``veil blur``, ``veil cloak``).
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output folder (or file, for one input file).")]
KeepMetadataOption = Annotated[bool, typer.Option(help="Copy EXIF/ICC metadata (GPS too!) to the outputs.")]
ResumeOption = Annotated[
    bool, typer.Option(help=f"Continue a job in OUT, skipping what {MANIFEST_NAME} says is done.")
]
EngineOption = Annotated[str, typer.Option(help=f"Where folder jobs run: {', '.join(ENGINES)}.")]
WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, help="Local threads or processes, or Ray actors.", show_default="all cores"),
]
AddressOption = Annotated[str | None, typer.Option(help="Ray cluster address.", show_default="a local Ray")]
