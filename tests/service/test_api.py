"""The HTTP API through FastAPI's TestClient: keys, limits, photos, verify and galleries."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from tests.service.conftest import encode

from veil.service import ServiceSettings, create_api_key, create_app, list_api_keys, revoke_api_key


def _upload(
    data: bytes, name: str = "photo.png", content_type: str = "image/png"
) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data, content_type)}


def _face_box(client: TestClient, data: bytes) -> tuple[int, int, int, int]:
    faces = client.post("/v1/detect", files=_upload(data)).json()["faces"]
    assert len(faces) == 1
    x1, y1, x2, y2 = faces[0]["box"]
    return int(x1), int(y1), int(x2) + 1, int(y2) + 1


# Keys -----------------------------------------------------------------------


def test_health_needs_no_key_and_everything_else_does(settings: ServiceSettings, api_key: str) -> None:
    app = create_app(settings)
    with TestClient(app) as anonymous:
        assert anonymous.get("/v1/health").json() == {"status": "ok"}
        checked = 0
        for template, operations in app.openapi()["paths"].items():
            if template == "/v1/health":
                continue
            path = template.replace("{job_id}", "0" * 32).replace("{index}", "0").replace("{name}", "g")
            for method in operations:
                response = anonymous.request(method.upper(), path)
                assert response.status_code == 401, (method, path)
                assert response.headers["www-authenticate"] == "Bearer"
                assert "API key" in response.json()["detail"]
                checked += 1
        assert checked >= 15


def test_a_key_works_until_revoked(settings: ServiceSettings, api_key: str) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/version", headers={"Authorization": "Bearer nope"}).status_code == 401
        ok = client.get("/v1/version", headers={"Authorization": f"Bearer {api_key}"})
        assert ok.status_code == 200
        assert ok.json()["api"] == "1"
        revoke_api_key(settings, "tests")
        assert client.get("/v1/version", headers={"Authorization": f"Bearer {api_key}"}).status_code == 401
    assert [key.revoked_at is not None for key in list_api_keys(settings)] == [True]


def test_keys_are_stored_only_as_hashes(settings: ServiceSettings, api_key: str) -> None:
    database = settings.data_dir / "veil.db"
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name, key_hash FROM api_keys").fetchall()
    assert len(rows) == 1
    assert rows[0][0] == "tests"
    assert api_key not in rows[0][1]
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert api_key.encode() not in path.read_bytes(), path


def test_key_names_are_unique_among_active_keys(settings: ServiceSettings, api_key: str) -> None:
    from veil.errors import VeilError

    with pytest.raises(VeilError, match="exists"):
        create_api_key(settings, "tests")
    with pytest.raises(VeilError, match="letters"):
        create_api_key(settings, "bad name/..")
    revoke_api_key(settings, "tests")
    assert create_api_key(settings, "tests") != api_key


def test_rate_limit_per_key(tmp_path: Path) -> None:
    settings = ServiceSettings(data_dir=tmp_path / "data", workers=0, rate_per_minute=3)
    first, second = create_api_key(settings, "a"), create_api_key(settings, "b")
    with TestClient(create_app(settings)) as client:
        codes = [
            client.get("/v1/version", headers={"Authorization": f"Bearer {first}"}).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/v1/version", headers={"Authorization": f"Bearer {first}"})
        assert int(limited.headers["retry-after"]) >= 1
        assert "requests a minute" in limited.json()["detail"]
        assert client.get("/v1/version", headers={"Authorization": f"Bearer {second}"}).status_code == 200
        assert client.get("/v1/health").status_code == 200  # never limited


# Uploads --------------------------------------------------------------------


def test_content_type_comes_from_the_bytes(client: TestClient, photo_png: bytes) -> None:
    lying = client.post("/v1/detect", files=_upload(b"<html>not a photo</html>", "x.png", "image/png"))
    assert lying.status_code == 415
    assert "not a photo" in lying.json()["detail"]
    honest = client.post("/v1/detect", files=_upload(photo_png, "x.txt", "text/plain"))
    assert honest.status_code == 200
    assert len(honest.json()["faces"]) == 1


def test_empty_and_corrupt_uploads_are_422(client: TestClient, photo_png: bytes) -> None:
    empty = client.post("/v1/anonymize", files=_upload(b""))
    assert empty.status_code == 422
    assert "empty" in empty.json()["detail"]
    truncated = client.post("/v1/anonymize", files=_upload(photo_png[: len(photo_png) // 2]))
    assert truncated.status_code == 422
    assert truncated.json()["detail"].startswith("photo.png:")
    missing = client.post("/v1/anonymize", data={"method": "gaussian"})
    assert missing.status_code == 422
    assert "file" in missing.json()["detail"]


def test_oversized_uploads_are_413(tmp_path: Path, photo_png: bytes, forged_png: Callable[..., Path]) -> None:
    settings = ServiceSettings(data_dir=tmp_path / "data", workers=0, max_upload_bytes=len(photo_png) - 1)
    key = create_api_key(settings, "k")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {key}"}) as client:
        too_many_bytes = client.post("/v1/anonymize", files=_upload(photo_png))
        assert too_many_bytes.status_code == 413
        assert "byte limit" in too_many_bytes.json()["detail"]
        header_only = forged_png(tmp_path / "huge.png", 10_000, 8_000).read_bytes()
        too_many_pixels = client.post("/v1/anonymize", files=_upload(header_only, "huge.png"))
        assert too_many_pixels.status_code == 413
        assert "10000x8000" in too_many_pixels.json()["detail"]
        body = b"x" * (settings.max_upload_bytes * (settings.max_files + 2) + 2 * 1024 * 1024)
        assert "--max-megapixels" in too_many_pixels.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
            for _ in range(settings.max_files + 20):  # past (max_files + 1) photos and 1 MB of form
                yield b"x" * settings.max_upload_bytes

        streamed = client.post(
            "/v1/cloak", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
        assert streamed.status_code == 413
        assert "byte limit" in streamed.json()["detail"]
        whole_body = client.post(
            "/v1/cloak", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
        assert whole_body.status_code == 413


def test_unknown_options_are_422_with_a_reason(client: TestClient, photo_png: bytes) -> None:
    method = client.post("/v1/anonymize", files=_upload(photo_png), data={"method": "smudge"})
    assert method.status_code == 422
    assert "smudge" in method.json()["detail"]
    detector = client.post("/v1/detect", files=_upload(photo_png), data={"detector": "nope"})
    assert detector.status_code == 422
    assert "nope" in detector.json()["detail"]
    strength = client.post("/v1/anonymize", files=_upload(photo_png), data={"strength": "-1"})
    assert strength.status_code == 422
    assert "strength" in strength.json()["detail"]


# Photos ---------------------------------------------------------------------


def test_detect_finds_the_astronaut(client: TestClient, photo_png: bytes) -> None:
    body = client.post("/v1/detect", files=_upload(photo_png)).json()
    assert (body["file"], body["width"], body["height"]) == ("photo.png", 256, 256)
    (face,) = body["faces"]
    x1, y1, x2, y2 = face["box"]
    assert 70 < x1 < x2 < 150 and 15 < y1 < y2 < 100  # her face, upper middle of the photo
    assert face["score"] > 0.5
    assert len(face["landmarks"]) == 5
    assert body["frames"] is None


def test_detect_searches_every_frame_of_an_animation(client: TestClient, astronaut_gif: Path) -> None:
    body = client.post("/v1/detect", files=_upload(astronaut_gif.read_bytes(), "a.gif", "image/gif")).json()
    assert [len(frame["faces"]) for frame in body["frames"]] == [1, 1, 1, 1]
    assert [frame["seconds"] for frame in body["frames"]] == pytest.approx([0, 0.08, 0.17, 0.27])
    assert body["faces"] == body["frames"][0]["faces"]
    lefts = [frame["faces"][0]["box"][0] for frame in body["frames"]]
    assert lefts == sorted(lefts, reverse=True)  # the pan moves her face left, frame after frame
    assert not list((client.app.state.veil.settings.tmp_dir).iterdir())  # type: ignore[attr-defined]


def test_attributes_are_read_from_the_astronauts_face(client: TestClient, photo_png: bytes) -> None:
    body = client.post("/v1/attributes", files=_upload(photo_png), data={"judge": "sface"}).json()
    assert (body["file"], body["judge"]) == ("photo.png", "sface")
    (face,) = body["faces"]
    assert 70 < face["face"]["box"][0] < 150
    for attribute in ("gender", "age", "race"):
        read = face[attribute]
        assert read["label"] in read["probabilities"]
        assert abs(sum(read["probabilities"].values()) - 1) < 0.01 and read["confidence"] == max(
            read["probabilities"].values()
        )
    unknown = client.post("/v1/attributes", files=_upload(photo_png), data={"judge": "oracle"})
    assert unknown.status_code == 422 and "oracle" in unknown.json()["detail"]


def test_anonymize_changes_only_the_face(
    client: TestClient, photo_png: bytes, small_astronaut: np.ndarray
) -> None:
    response = client.post("/v1/anonymize", files=_upload(photo_png))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-veil-faces"] == "1"
    out = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    assert out.shape == small_astronaut.shape
    x1, y1, x2, y2 = _face_box(client, photo_png)
    changed = np.any(out != small_astronaut, axis=2)
    assert changed[y1:y2, x1:x2].mean() > 0.5
    grow_x, grow_y = x2 - x1, y2 - y1  # the default expand (0.3) and feathering stay within one face size
    outside = changed.copy()
    outside[max(0, y1 - grow_y) : y2 + grow_y, max(0, x1 - grow_x) : x2 + grow_x] = False
    assert not outside.any()
    assert not list((client.app.state.veil.settings.tmp_dir).iterdir())  # type: ignore[attr-defined]


def test_anonymize_keeps_jpeg_and_drops_metadata(client: TestClient, small_astronaut: np.ndarray) -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0)}  # GPS
    data = encode(small_astronaut, "JPEG", quality=95, exif=exif.tobytes())
    assert b"SecretCam" in data
    response = client.post("/v1/anonymize", files=_upload(data, "p.jpg", "image/jpeg"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert b"SecretCam" not in response.content
    assert not Image.open(io.BytesIO(response.content)).getexif()


def test_anonymize_blurs_every_frame_of_an_animation(client: TestClient, astronaut_gif: Path) -> None:
    from veil.io import read_animation

    response = client.post("/v1/anonymize", files=_upload(astronaut_gif.read_bytes(), "a.gif", "image/gif"))
    assert response.status_code == 200, response.text
    assert (response.headers["content-type"], response.headers["x-veil-faces"]) == ("image/png", "1")
    clean = read_animation(astronaut_gif)
    with Image.open(io.BytesIO(response.content)) as out:
        assert out.n_frames == len(clean.frames)
        for index, frame in enumerate(clean.frames):
            out.seek(index)
            x1, y1, x2, y2 = _face_box(client, encode(frame))
            blurred = np.asarray(out.convert("RGB"))
            assert np.abs(blurred[y1:y2, x1:x2].astype(float) - frame[y1:y2, x1:x2]).mean() > 12
    assert not list((client.app.state.veil.settings.tmp_dir).iterdir())  # type: ignore[attr-defined]


def test_verify_two_photos(client: TestClient, photo_png: bytes, small_astronaut: np.ndarray) -> None:
    mirrored = encode(np.ascontiguousarray(small_astronaut[:, ::-1]))
    files = [("file", ("a.png", photo_png, "image/png")), ("file", ("b.png", mirrored, "image/png"))]
    body = client.post("/v1/verify", files=files).json()
    assert body["is_same"] is True
    assert body["score"] > body["threshold"]
    assert (body["a"], body["b"], body["model"]) == ("a.png", "b.png", "sface")
    one = client.post("/v1/verify", files=_upload(photo_png))
    assert one.status_code == 422
    assert "exactly two" in one.json()["detail"]
    blank = encode(np.full((128, 128, 3), 200, np.uint8))
    no_face = client.post("/v1/verify", files=[files[0], ("file", ("blank.png", blank, "image/png"))])
    assert no_face.status_code == 422
    assert "blank.png" in no_face.json()["detail"]


# Galleries ------------------------------------------------------------------


def test_gallery_life_cycle(client: TestClient, settings: ServiceSettings, photo_png: bytes) -> None:
    created = client.post("/v1/galleries", json={"name": "crew"})
    assert created.status_code == 201
    assert created.json() == {"name": "crew", "model": "sface", "entries": 0, "people": {}}
    assert client.post("/v1/galleries", json={"name": "crew"}).status_code == 409
    enrolled = client.post("/v1/galleries/crew/enroll", data={"person": "eileen"}, files=_upload(photo_png))
    assert enrolled.status_code == 200
    assert enrolled.json()["gallery"]["people"] == {"eileen": 1}
    found = client.post("/v1/galleries/crew/identify", files=_upload(photo_png)).json()
    assert [face["name"] for face in found["faces"]] == ["eileen"]
    assert client.get("/v1/galleries").json() == {"galleries": ["crew"]}
    # The gallery file is encrypted: the person's name is not in it in clear.
    (gallery_file,) = settings.galleries_dir.iterdir()
    assert b"eileen" not in gallery_file.read_bytes()
    other = create_api_key(settings, "other")
    assert client.get("/v1/galleries/crew", headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert client.delete("/v1/galleries/crew").status_code == 204
    assert client.get("/v1/galleries/crew").status_code == 404
    assert not list(settings.galleries_dir.iterdir())


def test_gallery_of_an_unknown_model_is_422(client: TestClient) -> None:
    response = client.post("/v1/galleries", json={"name": "g", "model": "nope"})
    assert response.status_code == 422
    assert "nope" in response.json()["detail"]
    assert client.get("/v1/galleries").json() == {"galleries": []}


# Schema ---------------------------------------------------------------------


def test_committed_openapi_schema_is_current(settings: ServiceSettings) -> None:
    import json

    committed = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
    current = create_app(settings).openapi()
    assert committed.is_file(), "run: .venv/bin/python tests/service/write_openapi.py"
    assert json.loads(committed.read_text()) == current, "docs/openapi.json is stale; regenerate it"
