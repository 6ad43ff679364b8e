"""``veil verify``, ``veil enroll``, ``veil identify`` and ``veil gallery ...``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import veil
from veil.cli._common import fail_usage, failing_inputs, finish, print_error
from veil.cli._options import (
    DetectorOption,
    FallbackOption,
    FarOption,
    JsonOption,
    ModelOption,
    PhotosArgument,
)
from veil.embed import DEFAULT_RECOGNIZER, embedding_dim
from veil.errors import InputError, VeilError
from veil.io import find_images
from veil.match import (
    DEFAULT_FAR,
    INDEXES,
    MATCH_DETECTOR,
    Gallery,
    create_key_file,
    enroll,
    identify,
    load_calibration,
    verify,
)
from veil.match._keys import default_key_path

gallery_app = typer.Typer(help="Encrypted galleries of enrolled people.", no_args_is_help=True)

GalleryArgument = Annotated[
    Path, typer.Argument(help="Gallery file (encrypted with $VEIL_KEY or the key file).")
]


def verify_command(
    photo_a: Annotated[Path, typer.Argument(help="First photo.")],
    photo_b: Annotated[Path, typer.Argument(help="Second photo.")],
    model: ModelOption = DEFAULT_RECOGNIZER,
    far: FarOption = DEFAULT_FAR,
    detector: DetectorOption = MATCH_DETECTOR,
    allow_fallback: FallbackOption = False,
    as_json: JsonOption = False,
) -> None:
    """Say whether the largest faces of two photos are the same person (exit 0 either way).

    A photo that cannot be used (unreadable, no face) fails the run (exit 1); a
    path that is not a file is bad usage (exit 2).
    """
    try:
        for photo in (photo_a, photo_b):
            if not photo.is_file():
                raise InputError(photo, "no such file")
        with failing_inputs(photo_a, photo_b, as_json=as_json):
            result = verify(
                veil.read_image(photo_a),
                veil.read_image(photo_b),
                model=model,
                far=far,
                detector=detector,
                allow_fallback=allow_fallback,
                sources=(str(photo_a), str(photo_b)),
            )
    except VeilError as error:
        raise fail_usage(str(error)) from error
    if as_json:
        typer.echo(json.dumps({"a": str(photo_a), "b": str(photo_b), **result.to_dict()}))
        return
    verdict = "same" if result.is_same else "different"
    typer.echo(
        f"{verdict} (score {result.score:.3f}, threshold {result.threshold:.3f} at FAR {far:g}, "
        f"probability same {result.probability:.3f}, model {model})"
    )


def enroll_command(
    gallery: GalleryArgument,
    name: Annotated[str, typer.Argument(help="The person's name.")],
    photos: PhotosArgument,
    model: ModelOption = DEFAULT_RECOGNIZER,
    index: Annotated[str, typer.Option(help=f"Index for a new gallery: {', '.join(INDEXES)}.")] = "exact",
    detector: DetectorOption = MATCH_DETECTOR,
    allow_fallback: FallbackOption = False,
) -> None:
    """Add a person to a gallery (created with --model if it does not exist) from photos of them."""
    try:
        files = find_images(photos)
        people = Gallery.load(gallery) if gallery.exists() else _new_gallery(model, index)
    except VeilError as error:
        raise fail_usage(str(error)) from error
    failures = []
    added = 0
    for path in files:
        try:
            image = veil.read_image(path)
            added += len(
                enroll(
                    people,
                    name,
                    [image],
                    detector=detector,
                    allow_fallback=allow_fallback,
                    sources=[str(path)],
                )
            )
        except VeilError as error:
            failures.append(str(error))
            print_error(str(error))
    if added:
        people.save(gallery)
        typer.echo(f"enrolled {name!r} from {added} photo(s) into {gallery} ({people.model})", err=True)
    finish(len(files), failures)


def _new_gallery(model: str, index: str) -> Gallery:
    return Gallery(model, embedding_dim(model), index=index)


def identify_command(
    gallery: GalleryArgument,
    photos: PhotosArgument,
    top_k: Annotated[int, typer.Option(min=1, help="How many candidates to list per face.")] = 5,
    far: FarOption = DEFAULT_FAR,
    all_faces: Annotated[bool, typer.Option(help="Identify every face, not only the largest.")] = False,
    detector: DetectorOption = MATCH_DETECTOR,
    allow_fallback: FallbackOption = False,
    as_json: JsonOption = False,
) -> None:
    """Search a gallery for the people in photos; a face below the FAR threshold is "unknown"."""
    try:
        people = Gallery.load(gallery)
        # An uncalibrated FAR is bad usage, not a failure of each photo: refused here, before any.
        load_calibration(people.model).threshold(far)
        files = find_images(photos)
    except VeilError as error:
        raise fail_usage(str(error)) from error
    failures = []
    for path in files:
        try:
            results = identify(
                veil.read_image(path),
                people,
                top_k=top_k,
                far=far,
                detector=detector,
                all_faces=all_faces,
                allow_fallback=allow_fallback,
                source=str(path),
            )
        except VeilError as error:
            failures.append(str(error))
            print_error(str(error))
            continue
        if as_json:
            typer.echo(json.dumps({"file": str(path), "faces": [r.to_dict() for r in results]}))
            continue
        for result in results:
            best = result.matches[0] if result.matches else None
            detail = f"score {best.score:.3f}, threshold {result.threshold:.3f}" if best else "empty gallery"
            typer.echo(f"{path}: {result.name or 'unknown'} ({detail})")
    finish(len(files), failures)


@gallery_app.command("list")
def gallery_list(gallery: GalleryArgument, as_json: JsonOption = False) -> None:
    """List the people in a gallery and how many photos each has."""
    try:
        people = Gallery.load(gallery)
    except VeilError as error:
        raise fail_usage(str(error)) from error
    counts = {name: people.count(name) for name in people.names()}
    if as_json:
        typer.echo(json.dumps({"gallery": str(gallery), "model": people.model, "people": counts}))
        return
    table = Table("name", "photos", title=f"{gallery} ({people.model}, {len(people)} entries)")
    for name, count in counts.items():
        table.add_row(name, str(count))
    Console().print(table)


@gallery_app.command("remove")
def gallery_remove(
    gallery: GalleryArgument, name: Annotated[str, typer.Argument(help="The person.")]
) -> None:
    """Remove a person (all their entries) from a gallery."""
    try:
        people = Gallery.load(gallery)
        removed = people.remove(name)
        if removed == 0:
            raise fail_usage(f"{gallery}: no one called {name!r}")
        people.save(gallery)
    except VeilError as error:
        raise fail_usage(str(error)) from error
    typer.echo(f"removed {name!r} ({removed} entries) from {gallery}", err=True)


@gallery_app.command("create-key")
def gallery_create_key(
    path: Annotated[
        Path | None, typer.Argument(help="Key file.", show_default="$VEIL_HOME/gallery.key")
    ] = None,
) -> None:
    """Create the key that encrypts galleries (a file readable only by you); never overwrites one."""
    try:
        created = create_key_file(path)
    except VeilError as error:
        raise fail_usage(str(error)) from error
    typer.echo(f"created {created} (default location: {default_key_path()})", err=True)
