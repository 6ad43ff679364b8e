"""Jobs: ``POST /v1/cloak`` and ``POST /v1/anonymize/jobs`` queue photos; ``/v1/jobs/...`` follows them."""

from __future__ import annotations

import datetime as dt
import uuid
import zipfile
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    File,
    Form,
    HTTPException,
    Response,
    UploadFile,
    status,
)
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from veil.anonymize import DEFAULT_DETECTOR, DEFAULT_EXPAND, DEFAULT_METHOD, DEFAULT_STRENGTH, FILTERS
from veil.attributes import DEFAULT_HIDE_JUDGES, JUDGES, parse_hide
from veil.cloak import DEFAULT_MODE, DEFAULT_MODELS, MODES, check_mode
from veil.detect import AUTO_DETECTOR, DETECTORS
from veil.errors import InputError, VeilError
from veil.service._apikeys import ApiKey
from veil.service._app import ServiceState, get_state, require_key
from veil.service._schemas import ErrorOut, JobItemOut, JobListOut, JobOut, ProgressOut
from veil.service._store import Item, Job, Store
from veil.service._uploads import read_photo

__all__ = ["job_out", "router"]

router = APIRouter(tags=["jobs"])

RESULT_SUFFIX = {"anonymize": "_blurred", "cloak": "_cloaked", "hide": "_protected"}
"""What each kind of job adds to a photo's name in downloads."""
PNG_KINDS = {"cloak", "hide"}
"""Jobs whose photos come back as PNG, which keeps a perturbation exactly."""

PhotosField = Annotated[list[UploadFile], File(description="One or more photos, each in a part named file.")]
DetectorField = Annotated[
    str, Form(description=f"Detector: auto (= {AUTO_DETECTOR}), {', '.join(DETECTORS)}, or a union a+b.")
]
ThresholdField = Annotated[
    float | None, Form(ge=0.0, le=1.0, description="Minimum detection score [default: the detector's own].")
]
_MODES_HELP = ", ".join(f"{name} (DSSIM <= {mode.budget:g})" for name, mode in MODES.items())


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def _stem(item: Item) -> str:
    return PurePath(item.name).stem or f"photo{item.index}"


def job_out(job: Job) -> JobOut:
    """A job's JSON, with the URLs of its results."""
    url = f"/v1/jobs/{job.id}"
    items = [
        JobItemOut(
            index=item.index,
            name=item.name,
            status=item.status,
            faces=item.faces,
            error=item.error,
            result_url=f"{url}/photos/{item.index}" if item.status == "done" else None,
            card_url=(
                f"{url}/photos/{item.index}/card"
                if item.status == "done" and job.kind == "cloak" and job.options.get("card", True)
                else None
            ),
            result=item.result,
        )
        for item in job.items
    ]
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        options=job.options,
        progress=ProgressOut(done=job.done, failed=job.failed, total=job.total),
        error=job.error,
        created_at=_iso(job.created_at),
        expires_at=_iso(job.expires_at),
        url=url,
        results_url=f"{url}/results.zip",
        items=items,
    )


async def _submit(
    state: ServiceState, owner: str, kind: str, options: dict[str, Any], files: list[UploadFile]
) -> JSONResponse:
    if not files:
        raise InputError("<request>", "no photo: send one or more in the field file")
    if len(files) > state.settings.max_files:
        raise InputError(
            "<request>", f"{len(files)} photos is over the limit of {state.settings.max_files} per job"
        )
    photos = []
    for upload in files:
        photo = await read_photo(upload, state.settings)
        output_suffix = ".png" if kind in PNG_KINDS else photo.output_suffix
        photos.append((photo.name, photo.suffix, output_suffix, photo.data))
    job = await run_in_threadpool(state.store.create_job, owner, kind, options, photos)
    body = job_out(job)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED, headers={"Location": body.url}
    )


_ACCEPTED: dict[int | str, dict[str, Any]] = {202: {"model": JobOut, "description": "The job, queued."}}


@router.post("/cloak", status_code=202, response_model=JobOut, responses=_ACCEPTED)
async def cloak(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    file: PhotosField,
    mode: Annotated[str, Form(description=f"Protection level: {_MODES_HELP}.")] = DEFAULT_MODE,
    detector: DetectorField = "auto",
    threshold: ThresholdField = None,
    models: Annotated[
        str,
        Form(description=f"Comma-separated recognizers to cloak against, among {', '.join(DEFAULT_MODELS)}."),
    ] = ",".join(DEFAULT_MODELS),
    card: Annotated[bool, Form(description="Also make each photo's protection card.")] = True,
) -> JSONResponse:
    """Queue photos to cloak against face recognition (as ``veil cloak``); poll ``GET /v1/jobs/{id}``.

    A photo with no face fails (it would not be protected); the others go on.
    """
    check_mode(mode)
    chosen = [name.strip() for name in models.split(",") if name.strip()]
    if not chosen or not set(chosen) <= set(DEFAULT_MODELS):
        raise VeilError(
            f"models {models!r}: choose one or more of {', '.join(DEFAULT_MODELS)} (differentiable)"
        )
    options = {"mode": mode, "models": chosen, "detector": detector, "threshold": threshold, "card": card}
    return await _submit(state, key.id, "cloak", options, file)


@router.post("/hide", status_code=202, response_model=JobOut, responses=_ACCEPTED)
async def hide(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    file: PhotosField,
    attributes: Annotated[
        str,
        Form(
            description="Attributes to hide: gender, age, race, comma-separated, each optionally =CLASS "
            "to show instead (age=60+)."
        ),
    ] = "gender",
    visible: Annotated[
        bool, Form(description="Allow a visible pattern (DSSIM 0.05) that fools more judges.")
    ] = (False),
    keep_identity: Annotated[bool, Form(description="Keep face matching working.")] = True,
    chance: Annotated[
        bool, Form(description="Push each attribute towards a uniform read instead of a wrong class.")
    ] = False,
    judges: Annotated[
        str, Form(description=f"Comma-separated judges to optimise against, among {', '.join(JUDGES)}.")
    ] = ",".join(DEFAULT_HIDE_JUDGES),
    detector: DetectorField = "auto",
    threshold: ThresholdField = None,
) -> JSONResponse:
    """Queue photos whose attributes classifiers should misread (as ``veil cloak --hide``); poll the job.

    A photo with no face fails (it would not be protected); the others go on.
    """
    parse_hide(attributes, chance=chance)
    chosen = [name.strip() for name in judges.split(",") if name.strip()]
    if not chosen or not set(chosen) <= set(JUDGES):
        raise VeilError(f"judges {judges!r}: choose one or more of {', '.join(JUDGES)}")
    options = {
        "hide": attributes,
        "visible": visible,
        "keep_identity": keep_identity,
        "chance": chance,
        "judges": chosen,
        "detector": detector,
        "threshold": threshold,
    }
    return await _submit(state, key.id, "hide", options, file)


@router.post("/anonymize/jobs", status_code=202, response_model=JobOut, responses=_ACCEPTED)
async def anonymize_job(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    file: PhotosField,
    method: Annotated[str, Form(description=f"Obfuscation: {', '.join(FILTERS)}.")] = DEFAULT_METHOD,
    strength: Annotated[
        float, Form(gt=0.0, le=2.0, description="Fraction of the face size.")
    ] = DEFAULT_STRENGTH,
    expand: Annotated[float, Form(ge=0.0, le=2.0, description="Fraction of the face size.")] = DEFAULT_EXPAND,
    detector: DetectorField = DEFAULT_DETECTOR,
    threshold: ThresholdField = None,
) -> JSONResponse:
    """Queue photos to anonymize (options as ``POST /v1/anonymize``); poll ``GET /v1/jobs/{id}``."""
    from veil.service._photos import anonymize_options

    options = anonymize_options(method, strength, expand, detector, threshold)
    return await _submit(state, key.id, "anonymize", options, file)


def _own_job(state: ServiceState, key: ApiKey, job_id: str) -> Job:
    job = state.store.get_job(job_id, key.id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (deleted, expired, or not yours)")
    return job


def _done_item(store: Store, job: Job, index: int) -> Item:
    if not 0 <= index < len(job.items):
        raise HTTPException(404, f"job {job.id} has no photo {index}")
    item = job.items[index]
    if item.status != "done":
        raise HTTPException(409, f"photo {index} of job {job.id} is {item.status}, not done")
    return item


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such job or photo."}
}
_NOT_READY: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    409: {"model": ErrorOut, "description": "The photo is not done (queued or failed)."},
}


@router.get("/jobs")
def list_jobs(
    state: Annotated[ServiceState, Depends(get_state)], key: Annotated[ApiKey, Depends(require_key)]
) -> JobListOut:
    """Your jobs, newest first (without their photos; ``GET /v1/jobs/{id}`` has those)."""
    return JobListOut(jobs=[job_out(job) for job in state.store.list_jobs(key.id)])


@router.get("/jobs/{job_id}", responses=_NOT_FOUND)
def get_job(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    job_id: str,
) -> JobOut:
    """A job's status and progress, and each photo's outcome and result URL."""
    return job_out(_own_job(state, key, job_id))


@router.delete("/jobs/{job_id}", status_code=204, response_class=Response, responses=_NOT_FOUND)
def delete_job(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    job_id: str,
) -> Response:
    """Delete a job now, with its uploads, results and cards (a running job stops after its photo)."""
    _own_job(state, key, job_id)
    state.store.delete_job(job_id, key.id)
    return Response(status_code=204)


_IMAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}, "image/jpeg": {}}, "description": "The result photo."}
}


@router.get("/jobs/{job_id}/photos/{index}", response_class=FileResponse, responses={**_IMAGE, **_NOT_READY})
def get_result(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    job_id: str,
    index: int,
) -> FileResponse:
    """The anonymized or cloaked photo (no metadata)."""
    job = _own_job(state, key, job_id)
    item = _done_item(state.store, job, index)
    suffix = RESULT_SUFFIX[job.kind]
    return FileResponse(
        state.store.output_path(job.id, item),
        media_type="image/jpeg" if item.output_ext == ".jpg" else "image/png",
        filename=f"{_stem(item)}{suffix}{item.output_ext}",
    )


def _card(state: ServiceState, key: ApiKey, job_id: str, index: int, suffix: str) -> FileResponse:
    job = _own_job(state, key, job_id)
    item = _done_item(state.store, job, index)
    path = state.store.card_path(job.id, item, suffix)
    if job.kind != "cloak" or not path.is_file():
        raise HTTPException(404, f"photo {index} of job {job.id} has no protection card")
    media_type = "text/html; charset=utf-8" if suffix == ".html" else "application/json"
    return FileResponse(path, media_type=media_type)


@router.get(
    "/jobs/{job_id}/photos/{index}/card",
    response_class=FileResponse,
    responses={200: {"content": {"text/html": {}}, "description": "The card, one HTML page."}, **_NOT_READY},
)
def get_card(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    job_id: str,
    index: int,
) -> FileResponse:
    """A cloaked photo's protection card: does each recognizer still match it, after each countermeasure."""
    return _card(state, key, job_id, index, ".html")


@router.get(
    "/jobs/{job_id}/photos/{index}/card.json",
    response_class=FileResponse,
    responses={200: {"content": {"application/json": {}}, "description": "The card's data."}, **_NOT_READY},
)
def get_card_json(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    job_id: str,
    index: int,
) -> FileResponse:
    """The protection card as JSON (as ``veil cloak --card``)."""
    return _card(state, key, job_id, index, ".json")


@router.get(
    "/jobs/{job_id}/results.zip",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "Every result."}, **_NOT_FOUND},
)
def get_zip(
    state: Annotated[ServiceState, Depends(get_state)],
    key: Annotated[ApiKey, Depends(require_key)],
    job_id: str,
    background: BackgroundTasks,
) -> FileResponse:
    """Every finished photo of a job (and each protection card) in one zip file."""
    job = _own_job(state, key, job_id)
    path = state.settings.tmp_dir / f"{uuid.uuid4().hex}.zip"
    suffix = RESULT_SUFFIX[job.kind]
    used: set[str] = set()
    with zipfile.ZipFile(path, "w") as archive:
        for item in job.items:
            if item.status != "done":
                continue
            stem = _stem(item)
            if stem in used:  # two uploads called photo.jpg must not overwrite each other in the zip
                stem = f"{stem}_{item.index}"
            used.add(stem)
            archive.write(state.store.output_path(job.id, item), f"{stem}{suffix}{item.output_ext}")
            for card_suffix in (".html", ".json"):
                card = state.store.card_path(job.id, item, card_suffix)
                if card.is_file():
                    archive.write(card, f"{stem}_card{card_suffix}")
    background.add_task(path.unlink, missing_ok=True)
    return FileResponse(path, media_type="application/zip", filename=f"veil-{job.kind}-{job.id[:8]}.zip")
