"""The ``veil`` command: a thin layer over the library that does all the printing.

Exit codes: 0 when everything worked, 1 when some inputs failed (each named on
stderr, and listed again at the end), 2 for bad usage or a missing model.
Machine output (``--json``) goes to stdout, one JSON object per line; tables,
progress and errors go to stderr.
"""

from __future__ import annotations

import typer

from veil.cli import _eval, _models
from veil.cli._attributes import attributes, eval_attributes
from veil.cli._blur import blur
from veil.cli._cloak import cloak
from veil.cli._crossmodel import (
    align_app,
    eval_cancelable,
    eval_crossmodel,
    eval_template_leak,
    gallery_migrate,
)
from veil.cli._detect import detect
from veil.cli._keys import keys_app
from veil.cli._recognize import enroll_command, gallery_app, identify_command, verify_command
from veil.cli._serve import serve

__all__ = ["app"]

app = typer.Typer(
    help="veil: see what face recognition sees, and stop it.", no_args_is_help=True, add_completion=False
)
app.command()(detect)
app.command()(blur)
app.command()(cloak)
app.command("attributes")(attributes)
app.command("verify")(verify_command)
app.command("enroll")(enroll_command)
app.command("identify")(identify_command)
app.command()(serve)
app.add_typer(keys_app, name="keys")
gallery_app.command("migrate")(gallery_migrate)
app.add_typer(gallery_app, name="gallery")
app.add_typer(align_app, name="align-models")
app.add_typer(_models.app, name="models")
_eval.app.command("crossmodel")(eval_crossmodel)
_eval.app.command("template-leak")(eval_template_leak)
_eval.app.command("cancelable")(eval_cancelable)
_eval.app.command("attributes")(eval_attributes)
app.add_typer(_eval.app, name="eval")
