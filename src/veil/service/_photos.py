"""``/v1/detect``, ``/v1/anonymize``, ``/v1/attributes``, ``/v1/verify``: a photo in, an answer out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from veil.anonymize import DEFAULT_DETECTOR, DEFAULT_EXPAND, DEFAULT_METHOD, DEFAULT_STRENGTH, FILTERS
from veil.attributes import DEFAULT_JUDGE, JUDGES
from veil.detect import AUTO_DETECTOR, DETECTORS
from veil.embed import DEFAULT_RECOGNIZER, RECOGNIZERS
from veil.errors import InputError, VeilError
from veil.match import DEFAULT_FAR, MATCH_DETECTOR
from veil.service._apikeys import ApiKey
from veil.service._app import ServiceState, get_state, require_key
from veil.service._jobs_api import job_out
from veil.service._schemas import AttributesOut, DetectOut, JobOut, VerifyOut
from veil.service._uploads import Photo, read_photo

__all__ = ["router"]

router = APIRouter(tags=["photos"])

PhotoField = Annotated[UploadFile, File(description="The photo (JPEG, PNG, WebP, GIF, BMP or TIFF).")]
DetectorField = Annotated[
    str, Form(description=f"Detector: auto (= {AUTO_DETECTOR}), {', '.join(DETECTORS)}, or a union a+b.")
]
ThresholdField = Annotated[
    float | None, Form(ge=0.0, le=1.0, description="Minimum detection score [default: the detector's own].")
]
MethodField = Annotated[str, Form(description=f"Obfuscation: {', '.join(FILTERS)}.")]
StrengthField = Annotated[
    float, Form(gt=0.0, le=2.0, description="Blur sigma or pixel block, as a fraction of the face size.")
]
ExpandField = Annotated[
    float, Form(ge=0.0, le=2.0, description="Grow each face box by this fraction of its size on every side.")
]


def anonymize_options(
    method: MethodField, strength: float, expand: float, detector: str, threshold: float | None
) -> dict[str, Any]:
    """The options of an anonymize call, checked before any work (or job) starts."""
    if method not in FILTERS:
        raise VeilError(f"unknown method {method!r}; choose one of: {', '.join(FILTERS)}")
    return {
        "method": method,
        "strength": strength,
        "expand": expand,
        "detector": detector,
        "threshold": threshold,
    }


@router.post("/detect")
async def detect(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    file: PhotoField,
    detector: DetectorField = "auto",
    threshold: ThresholdField = None,
) -> DetectOut:
    """Find the faces in a photo: boxes, scores and five landmarks each (as ``veil detect --json``).

    An animation has every frame searched (``frames``); ``faces`` are its first frame's.
    """
    photo = await read_photo(file, state.settings)
    record = await run_in_threadpool(_detect, state, photo, detector, threshold)
    height, width = photo.image.shape[:2]
    return DetectOut.model_validate({"file": photo.name, "width": width, "height": height, **record})


def _detect(state: ServiceState, photo: Photo, detector: str, threshold: float | None) -> dict[str, Any]:
    from veil.detect import detect_animation, get_detector
    from veil.io import read_animation

    if photo.frames == 1:
        faces = get_detector(detector, threshold=threshold).detect(photo.image)
        return {"faces": [face.to_dict() for face in faces]}
    with _upload_file(state, photo) as upload:
        frames = detect_animation(read_animation(upload), detector=detector, threshold=threshold)
    return {"faces": [face.to_dict() for face in frames[0].faces], "frames": [f.to_dict() for f in frames]}


@contextmanager
def _upload_file(state: ServiceState, photo: Photo) -> Iterator[Path]:
    """The upload's bytes as a file in the service's scratch folder, removed when the block ends."""
    upload = state.settings.tmp_dir / f"{uuid.uuid4().hex}.upload{photo.suffix}"
    try:
        upload.write_bytes(photo.data)
        yield upload
    finally:
        upload.unlink(missing_ok=True)


def _anonymize(state: ServiceState, photo: Photo, options: dict[str, Any]) -> tuple[bytes, int]:
    """Blur the photo's faces and encode it with ``write_image`` (no metadata) inside the data folder.

    An animation has every frame blurred (``veil.anonymize.blur_animation``) and
    comes back as animated PNG; its faces are then the faces followed.
    """
    import veil
    from veil.anonymize import blur_animation

    path = state.settings.tmp_dir / f"{uuid.uuid4().hex}{photo.output_suffix}"
    try:
        if photo.frames > 1:
            with _upload_file(state, photo) as upload:
                faces = blur_animation(upload, path, **options).tracks
        else:
            blurred = veil.blur(photo.image, **options)
            veil.write_image(blurred.image, path)
            faces = len(blurred.faces)
        return path.read_bytes(), faces
    finally:
        path.unlink(missing_ok=True)


@router.post(
    "/anonymize",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {}, "image/jpeg": {}},
            "description": "The photo with every face blurred (JPEG stays JPEG, other formats become PNG; "
            "an animation has every frame blurred and becomes animated PNG), without metadata; the header "
            "X-Veil-Faces gives the number of faces.",
        },
        202: {"model": JobOut, "description": "A photo over the synchronous size limit: a job to poll."},
    },
)
async def anonymize(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    file: PhotoField,
    method: MethodField = DEFAULT_METHOD,
    strength: StrengthField = DEFAULT_STRENGTH,
    expand: ExpandField = DEFAULT_EXPAND,
    detector: DetectorField = DEFAULT_DETECTOR,
    threshold: ThresholdField = None,
) -> Response:
    """Blur every face in a photo (as ``veil blur``), photo in, photo out.

    Photos up to the synchronous limit (16 MP by default, all frames of an
    animation together) are answered at once; a larger one becomes an anonymize
    job (202, see ``GET /v1/jobs/{id}``).
    """
    options = anonymize_options(method, strength, expand, detector, threshold)
    photo = await read_photo(file, state.settings)
    if photo.image.shape[0] * photo.image.shape[1] * photo.frames > state.settings.sync_max_pixels:
        job = await run_in_threadpool(
            state.store.create_job,
            key.id,
            "anonymize",
            options,
            [(photo.name, photo.suffix, photo.output_suffix, photo.data)],
        )
        body = job_out(job)
        return JSONResponse(
            body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED, headers={"Location": body.url}
        )
    data, faces = await run_in_threadpool(_anonymize, state, photo, options)
    media_type = "image/jpeg" if photo.output_suffix == ".jpg" else "image/png"
    return Response(data, media_type=media_type, headers={"X-Veil-Faces": str(faces)})


@router.post("/attributes")
async def attributes(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    file: PhotoField,
    judge: Annotated[str, Form(description=f"Whose attribute heads read the faces: {', '.join(JUDGES)}.")] = (
        DEFAULT_JUDGE
    ),
    detector: DetectorField = "auto",
    threshold: ThresholdField = None,
) -> AttributesOut:
    """What attribute classifiers read from each face: gender, age group, race (as ``veil attributes``)."""
    from veil.attributes import classify_attributes

    if judge not in JUDGES:
        raise VeilError(f"unknown judge {judge!r}; choose one of: {', '.join(JUDGES)}")
    photo = await read_photo(file, state.settings)
    read = await run_in_threadpool(
        lambda: classify_attributes(photo.image, judge=judge, detector=detector, threshold=threshold)
    )
    return AttributesOut.model_validate(
        {"file": photo.name, "judge": judge, "faces": [f.to_dict() for f in read]}
    )


@router.post("/verify")
async def verify(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    file: Annotated[list[UploadFile], File(description="Exactly two photos, each in a part named file.")],
    model: Annotated[
        str, Form(description=f"Recognizer: {', '.join(RECOGNIZERS)}, or a fusion such as sface+facenet.")
    ] = DEFAULT_RECOGNIZER,
    far: Annotated[
        float, Form(description="False accept rate to decide at: 0.01, 0.001 or 0.0001.")
    ] = DEFAULT_FAR,
    detector: DetectorField = MATCH_DETECTOR,
) -> VerifyOut:
    """Whether the largest faces of two photos are the same person (as ``veil verify --json``)."""
    from veil.match import verify as verify_faces

    if len(file) != 2:
        raise InputError("<request>", f"verify takes exactly two photos in the field file, got {len(file)}")
    first, second = [await read_photo(upload, state.settings) for upload in file]
    result = await run_in_threadpool(
        lambda: verify_faces(
            first.image,
            second.image,
            model=model,
            far=far,
            detector=detector,
            sources=(first.name, second.name),
        )
    )
    return VerifyOut.model_validate({"a": first.name, "b": second.name, **result.to_dict()})
