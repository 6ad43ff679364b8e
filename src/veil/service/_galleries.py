"""``/v1/galleries``: create encrypted galleries, enroll people, identify faces, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from veil.errors import InputError
from veil.match import DEFAULT_FAR, MATCH_DETECTOR, Gallery
from veil.service._apikeys import ApiKey
from veil.service._app import ServiceState, get_state, require_key
from veil.service._schemas import EnrollOut, ErrorOut, GalleryIn, GalleryListOut, GalleryOut, IdentifyOut
from veil.service._settings import ServiceSettings
from veil.service._uploads import read_photo

__all__ = ["ensure_key", "router"]

router = APIRouter(tags=["galleries"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "No such gallery."}}


def key_path(settings: ServiceSettings) -> Path:
    return settings.data_dir / "gallery.key"


def ensure_key(settings: ServiceSettings) -> None:
    """Create the key that encrypts the service's galleries, once (``data_dir/gallery.key``, mode 0600)."""
    from veil.match import create_key_file

    if not key_path(settings).exists():
        create_key_file(key_path(settings))


def _key(settings: ServiceSettings) -> str:
    return key_path(settings).read_text(encoding="ascii").strip()


def _out(name: str, gallery: Gallery) -> GalleryOut:
    people = {person: gallery.count(person) for person in gallery.names()}
    return GalleryOut(name=name, model=gallery.model, entries=len(gallery), people=people)


def _file(state: ServiceState, key: ApiKey, name: str) -> Path:
    path = state.store.gallery_file(key.id, name)
    if path is None:
        raise HTTPException(404, f"no gallery {name!r}")
    return path


@router.post(
    "/galleries", status_code=201, responses={409: {"model": ErrorOut, "description": "Name taken."}}
)
def create_gallery(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    body: GalleryIn,
) -> GalleryOut:
    """Create an empty gallery for one recognizer's embeddings, encrypted at rest."""
    from veil.embed import embedding_dim

    gallery = Gallery(body.model, embedding_dim(body.model), index=body.index)
    if state.store.gallery_file(key.id, body.name) is not None:
        raise HTTPException(409, f"gallery {body.name!r} exists")
    path = state.store.add_gallery(key.id, body.name, body.model)
    gallery.save(path, key=_key(state.settings))
    return _out(body.name, gallery)


@router.get("/galleries")
def list_galleries(
    state: Annotated[ServiceState, Depends(get_state)], key: Annotated[ApiKey, Depends(require_key)]
) -> GalleryListOut:
    """The names of your galleries."""
    return GalleryListOut(galleries=state.store.list_galleries(key.id))


@router.get("/galleries/{name}", responses=_NOT_FOUND)
def get_gallery(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    name: str,
) -> GalleryOut:
    """A gallery's model and the people in it."""
    return _out(name, Gallery.load(_file(state, key, name), key=_key(state.settings)))


@router.delete("/galleries/{name}", status_code=204, response_class=Response, responses=_NOT_FOUND)
def delete_gallery(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    name: str,
) -> Response:
    """Delete a gallery and its file."""
    path = _file(state, key, name)
    with state.gallery_lock(path.name):
        state.store.delete_gallery(key.id, name)
    return Response(status_code=204)


@router.post("/galleries/{name}/enroll", responses=_NOT_FOUND)
async def enroll(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    name: str,
    person: Annotated[str, Form(min_length=1, max_length=200, description="The person's name.")],
    file: Annotated[list[UploadFile], File(description="Photos of the person, each in a part named file.")],
    detector: Annotated[str, Form(description="Detector (see /v1/detect).")] = MATCH_DETECTOR,
) -> EnrollOut:
    """Add a person from photos of them (each one's largest face); nothing is added unless all have one."""
    from veil.match import enroll as enroll_faces

    path = _file(state, key, name)
    if not file:
        raise InputError("<request>", "no photo: send one or more in the field file")
    photos = [await read_photo(upload, state.settings) for upload in file]

    def work() -> EnrollOut:
        with state.gallery_lock(path.name):
            gallery = Gallery.load(path, key=_key(state.settings))
            added = enroll_faces(
                gallery,
                person,
                [p.image for p in photos],
                detector=detector,
                sources=[p.name for p in photos],
            )
            gallery.save(path, key=_key(state.settings))
        return EnrollOut(person=person, added=len(added), gallery=_out(name, gallery))

    return await run_in_threadpool(work)


@router.post("/galleries/{name}/identify", responses=_NOT_FOUND)
async def identify(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    name: str,
    file: Annotated[UploadFile, File(description="The photo.")],
    top_k: Annotated[int, Form(ge=1, le=100, description="Candidates to list per face.")] = 5,
    far: Annotated[float, Form(description="False accept rate: 0.01, 0.001 or 0.0001.")] = DEFAULT_FAR,
    all_faces: Annotated[bool, Form(description="Every face, not only the largest.")] = False,
    detector: Annotated[str, Form(description="Detector (see /v1/detect).")] = MATCH_DETECTOR,
) -> IdentifyOut:
    """Search the gallery for the people in a photo; a face below the threshold is unknown (name null)."""
    from veil.match import identify as identify_faces

    path = _file(state, key, name)
    photo = await read_photo(file, state.settings)

    def work() -> IdentifyOut:
        with state.gallery_lock(path.name):
            gallery = Gallery.load(path, key=_key(state.settings))
        results = identify_faces(
            photo.image,
            gallery,
            top_k=top_k,
            far=far,
            detector=detector,
            all_faces=all_faces,
            source=photo.name,
        )
        return IdentifyOut.model_validate({"file": photo.name, "faces": [r.to_dict() for r in results]})

    return await run_in_threadpool(work)
