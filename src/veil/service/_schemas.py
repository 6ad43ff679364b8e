"""JSON bodies of the HTTP API, as pydantic models, so the OpenAPI schema documents every field.

The fields are those of the library's ``to_dict()`` forms (``Face``, ``Verification``,
``Identification``, ``Cloaked``): the JSON is defined once, in the library.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "DetectOut",
    "ErrorOut",
    "FaceOut",
    "FrameOut",
    "GalleryIn",
    "GalleryListOut",
    "GalleryOut",
    "HealthOut",
    "IdentifyOut",
    "JobItemOut",
    "JobListOut",
    "JobOut",
    "ProgressOut",
    "VerifyOut",
    "VersionOut",
]


class ErrorOut(BaseModel):
    detail: str = Field(description="What is wrong, in one line.")


class HealthOut(BaseModel):
    status: str


class VersionOut(BaseModel):
    veil: str
    api: str


class FaceOut(BaseModel):
    box: list[float] = Field(description="x1, y1, x2, y2 in pixels of the photo as displayed.")
    score: float
    landmarks: list[list[float]] = Field(
        description="Five (x, y): right eye, left eye, nose tip, right and left mouth corners."
    )
    track_id: int | None = None


class FrameOut(BaseModel):
    frame: int = Field(description="The frame's position, from 0.")
    seconds: float = Field(description="When the frame starts showing.")
    faces: list[FaceOut]


class DetectOut(BaseModel):
    file: str
    width: int
    height: int
    faces: list[FaceOut] = Field(description="The photo's faces; for an animation, its first frame's.")
    frames: list[FrameOut] | None = Field(
        None,
        description="An animation's every frame with its faces (as veil detect --json); null for a photo.",
    )


class AttributeOut(BaseModel):
    label: str = Field(description="The class the judge reads (gender, age group or race group).")
    confidence: float = Field(description="The judge's probability of that class.")
    probabilities: dict[str, float] = Field(description="Every class's probability.")


class FaceAttributesOut(BaseModel):
    face: FaceOut
    judge: str
    gender: AttributeOut
    age: AttributeOut
    race: AttributeOut


class AttributesOut(BaseModel):
    file: str
    judge: str = Field(description="Whose heads read the faces (a recognizer's name).")
    faces: list[FaceAttributesOut]


class VerifyOut(BaseModel):
    a: str
    b: str
    score: float
    probability: float
    threshold: float
    far: float
    is_same: bool
    model: str


class MatchOut(BaseModel):
    name: str
    score: float
    entry_id: int
    metadata: dict[str, str]
    probability: float


class IdentificationOut(BaseModel):
    face: FaceOut
    name: str | None
    threshold: float
    far: float
    matches: list[MatchOut]


class IdentifyOut(BaseModel):
    file: str
    faces: list[IdentificationOut]


class GalleryIn(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Your name for the gallery.")
    model: str = Field(default="sface", description="Recognizer whose embeddings the gallery holds.")
    index: str = Field(default="exact", description="Search index: exact or an approximate one.")


class GalleryOut(BaseModel):
    name: str
    model: str
    entries: int
    people: dict[str, int] = Field(description="Each enrolled person and how many photos they have.")


class GalleryListOut(BaseModel):
    galleries: list[str]


class EnrollOut(BaseModel):
    person: str
    added: int
    gallery: GalleryOut


class ProgressOut(BaseModel):
    done: int
    failed: int
    total: int


class JobItemOut(BaseModel):
    index: int
    name: str
    status: str = Field(description="queued, done or failed.")
    faces: int | None
    error: str | None
    result_url: str | None = Field(description="The anonymized or cloaked photo, once done.")
    card_url: str | None = Field(description="Cloak jobs: the protection card (HTML), once done.")
    result: dict[str, Any] | None = Field(description="What was done (cloak: per face DSSIM, similarity).")


class JobOut(BaseModel):
    id: str
    kind: str = Field(description="anonymize, cloak or hide.")
    status: str = Field(description="queued, running, done (some photos may have failed) or failed.")
    options: dict[str, Any]
    progress: ProgressOut
    error: str | None
    created_at: str
    expires_at: str = Field(description="When the job, its uploads and its results are deleted.")
    url: str
    results_url: str = Field(description="Every result (and card) in one zip file.")
    items: list[JobItemOut]


class JobListOut(BaseModel):
    jobs: list[JobOut]
