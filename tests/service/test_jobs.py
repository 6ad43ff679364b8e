"""Jobs through the TestClient with a real worker: anonymize, cloak, hide, cards, zip, delete, expiry."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from tests.service.conftest import encode

from veil.service import ServiceSettings, create_api_key, create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def job_settings(tmp_path_factory: pytest.TempPathFactory) -> ServiceSettings:
    return ServiceSettings(data_dir=tmp_path_factory.mktemp("jobs") / "data", workers=1, poll_s=0.2)


@pytest.fixture(scope="module")
def job_client(job_settings: ServiceSettings) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")  # the worker inherits it: the test machine's cores are shared
        key = create_api_key(job_settings, "jobs")
        with TestClient(create_app(job_settings), headers={"Authorization": f"Bearer {key}"}) as client:
            yield client


def wait_for(client: TestClient, job: dict[str, Any], timeout_s: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state: dict[str, Any] = client.get(job["url"]).json()
        if state["status"] in {"done", "failed"}:
            return state
        time.sleep(0.3)
    raise AssertionError(f"job {job['id']} not finished after {timeout_s} s: {state}")


def _png(client: TestClient, url: str) -> np.ndarray:
    response = client.get(url)
    assert response.status_code == 200
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


def test_anonymize_job_results_zip_and_delete(
    job_client: TestClient, job_settings: ServiceSettings, small_astronaut: np.ndarray
) -> None:
    photos = [
        ("file", ("one.png", encode(small_astronaut), "image/png")),
        ("file", ("two.jpg", encode(small_astronaut, "JPEG", quality=95), "image/jpeg")),
    ]
    submitted = job_client.post("/v1/anonymize/jobs", files=photos, data={"method": "pixelate"})
    assert submitted.status_code == 202
    job = submitted.json()
    assert submitted.headers["location"] == job["url"]
    assert (job["kind"], job["progress"]["total"]) == ("anonymize", 2)
    done = wait_for(job_client, job)
    assert done["status"] == "done"
    assert done["progress"] == {"done": 2, "failed": 0, "total": 2}
    assert [item["faces"] for item in done["items"]] == [1, 1]
    first = _png(job_client, done["items"][0]["result_url"])
    assert first.shape == small_astronaut.shape
    assert 0 < np.mean(np.any(first != small_astronaut, axis=2)) < 0.2  # the face, not the photo
    assert job_client.get(done["items"][1]["result_url"]).headers["content-type"] == "image/jpeg"
    archive = zipfile.ZipFile(io.BytesIO(job_client.get(done["results_url"]).content))
    assert sorted(archive.namelist()) == ["one_blurred.png", "two_blurred.jpg"]
    folder = job_settings.jobs_dir / job["id"]
    assert folder.is_dir()
    assert job_client.delete(job["url"]).status_code == 204
    assert not folder.exists()
    assert job_client.get(job["url"]).status_code == 404
    assert job_client.get(done["items"][0]["result_url"]).status_code == 404


def test_cloak_job_with_card_and_a_photo_without_a_face(
    job_client: TestClient, job_settings: ServiceSettings, small_astronaut: np.ndarray
) -> None:
    blank = np.full((96, 96, 3), 180, np.uint8)
    photos = [
        ("file", ("astronaut.png", encode(small_astronaut), "image/png")),
        ("file", ("wall.png", encode(blank), "image/png")),
    ]
    job = job_client.post("/v1/cloak", files=photos, data={"mode": "low", "models": "sface"}).json()
    assert job["status"] == "queued"
    assert (job["options"]["mode"], job["options"]["models"]) == ("low", ["sface"])
    done = wait_for(job_client, job, timeout_s=120)
    assert done["status"] == "done"
    assert done["progress"] == {"done": 1, "failed": 1, "total": 2}
    cloaked_item, wall = done["items"]
    assert wall["status"] == "failed"
    assert wall["error"] == "wall.png: no face found to cloak"  # the client's name, not a server path
    assert str(job_settings.data_dir) not in str(done)
    (face,) = cloaked_item["result"]["faces"]
    assert face["cloaked"] and face["dssim"] <= 0.004 + 1e-6
    cloaked = _png(job_client, cloaked_item["result_url"])
    left, top, right, bottom = face["window"]
    changed = np.any(cloaked != small_astronaut, axis=2)
    assert changed[top:bottom, left:right].any()
    changed[top:bottom, left:right] = False
    assert not changed.any()  # every changed pixel lies inside the face window
    card = job_client.get(cloaked_item["card_url"])
    assert card.headers["content-type"].startswith("text/html")
    assert "<html" in card.text.lower()
    card_json = job_client.get(cloaked_item["card_url"] + ".json").json()
    assert card_json["protected"] == cloaked_item["result"]["protected"]
    assert job_client.get(f"{job['url']}/photos/1").status_code == 409
    names = zipfile.ZipFile(io.BytesIO(job_client.get(done["results_url"]).content)).namelist()
    assert sorted(names) == ["astronaut_card.html", "astronaut_card.json", "astronaut_cloaked.png"]


def test_hide_job_flips_the_judges_read_and_fails_a_photo_without_a_face(
    job_client: TestClient, small_astronaut: np.ndarray
) -> None:
    blank = np.full((96, 96, 3), 180, np.uint8)
    photos = [
        ("file", ("astronaut.png", encode(small_astronaut), "image/png")),
        ("file", ("wall.png", encode(blank), "image/png")),
    ]
    job = job_client.post("/v1/hide", files=photos, data={"attributes": "gender", "judges": "sface"}).json()
    assert (job["kind"], job["options"]["hide"], job["options"]["judges"]) == ("hide", "gender", ["sface"])
    done = wait_for(job_client, job, timeout_s=120)
    assert done["progress"] == {"done": 1, "failed": 1, "total": 2}
    protected_item, wall = done["items"]
    assert wall["error"] == "wall.png: no face large enough to protect"
    (face,) = protected_item["result"]["faces"]
    assert face["hidden"] and face["after"]["sface"]["gender"] == face["targets"]["gender"]
    assert face["before"]["sface"]["gender"] != face["targets"]["gender"]
    assert face["dssim"] <= 0.01 + 1e-6 and protected_item["card_url"] is None
    assert _png(job_client, protected_item["result_url"]).shape == small_astronaut.shape
    names = zipfile.ZipFile(io.BytesIO(job_client.get(done["results_url"]).content)).namelist()
    assert names == ["astronaut_protected.png"]
    for data, value in (
        ({"attributes": "hair"}, "hair"),
        ({"judges": "oracle"}, "oracle"),
        ({"attributes": "age=60+", "chance": "true"}, "contradict"),
    ):
        refused = job_client.post("/v1/hide", files=photos[:1], data=data)
        assert refused.status_code == 422 and value in refused.json()["detail"]


def test_deleting_a_running_job_stops_it_and_removes_its_files(
    job_client: TestClient, job_settings: ServiceSettings, small_astronaut: np.ndarray
) -> None:
    photos = [("file", (f"p{i}.png", encode(small_astronaut), "image/png")) for i in range(2)]
    job = job_client.post(
        "/v1/cloak", files=photos, data={"mode": "low", "models": "sface", "card": "false"}
    ).json()
    deadline = time.monotonic() + 60
    while job_client.get(job["url"]).json()["status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job_client.delete(job["url"]).status_code == 204
    assert not (job_settings.jobs_dir / job["id"]).exists()
    # The worker notices after its photo, drops what it wrote, and takes the next job.
    after = job_client.post("/v1/anonymize/jobs", files=photos[:1]).json()
    assert wait_for(job_client, after, timeout_s=60)["status"] == "done"
    assert not (job_settings.jobs_dir / job["id"]).exists()


def test_cloak_options_are_checked_before_queueing(
    job_client: TestClient, small_astronaut: np.ndarray
) -> None:
    photo = {"file": ("a.png", encode(small_astronaut), "image/png")}
    for field, value in (("mode", "extreme"), ("models", "dlib"), ("models", " , ")):
        response = job_client.post("/v1/cloak", files=photo, data={field: value})
        assert response.status_code == 422, (field, value)
        assert field.rstrip("s") in response.json()["detail"]


def test_jobs_belong_to_their_key(
    job_client: TestClient, job_settings: ServiceSettings, small_astronaut: np.ndarray
) -> None:
    job = job_client.post(
        "/v1/anonymize/jobs", files=[("file", ("a.png", encode(small_astronaut), "image/png"))]
    ).json()
    other = {"Authorization": f"Bearer {create_api_key(job_settings, 'someone-else')}"}
    assert job_client.get(job["url"], headers=other).status_code == 404
    assert job_client.delete(job["url"], headers=other).status_code == 404
    assert job_client.get("/v1/jobs", headers=other).json() == {"jobs": []}
    assert job["id"] in [listed["id"] for listed in job_client.get("/v1/jobs").json()["jobs"]]
    assert job_client.get("/v1/jobs/..%2F..%2Fetc").status_code == 404


def test_large_photo_becomes_a_job(tmp_path: Path, small_astronaut: np.ndarray) -> None:
    settings = ServiceSettings(data_dir=tmp_path / "data", workers=0, sync_max_megapixels=0.01)
    key = create_api_key(settings, "k")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {key}"}) as client:
        response = client.post(
            "/v1/anonymize", files={"file": ("big.png", encode(small_astronaut), "image/png")}
        )
        assert response.status_code == 202
        job = response.json()
        assert (job["kind"], job["status"], job["progress"]["total"]) == ("anonymize", "queued", 1)
        assert response.headers["location"] == job["url"]


def test_jobs_and_their_photos_expire(tmp_path: Path, small_astronaut: np.ndarray) -> None:
    settings = ServiceSettings(data_dir=tmp_path / "data", workers=0, job_ttl_s=1.0, poll_s=0.2)
    key = create_api_key(settings, "k")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {key}"}) as client:
        job = client.post("/v1/cloak", files={"file": ("a.png", encode(small_astronaut), "image/png")}).json()
        folder = settings.jobs_dir / job["id"]
        assert len(list(folder.rglob("*.png"))) == 1
        deadline = time.monotonic() + 15
        while folder.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not folder.exists()
        assert client.get(job["url"]).status_code == 404
