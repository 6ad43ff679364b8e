"""Shared fixtures: real photos, bad inputs, a private cache and a clean environment."""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
USER_CACHE = Path(os.environ.get("VEIL_HOME") or "~/.cache/veil").expanduser()
# Read before clean_environ runs, so VEIL_DATA set by the caller still counts.
DATA = Path(os.environ.get("VEIL_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test sees only the veil settings it sets itself.

    The weights cache stays the user's (pulled once by ``make test``): copying
    hundreds of megabytes per test would prove nothing more.
    """
    for name in list(os.environ):
        if name.startswith("VEIL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VEIL_HOME", str(USER_CACHE))
    yield


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """The astronaut photo that scikit-image ships (Eileen Collins, NASA, public domain)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The development data folder; tests using it skip when it is absent."""
    if not DATA.is_dir():
        pytest.skip(f"development data not found at {DATA} (set VEIL_DATA)")
    return DATA


def _forged_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height 1-bit pixels but that holds no pixel data.

    Anything that decoded it would fail as truncated, so an ImageTooLargeError proves
    the size was checked from the header, before decoding.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture
def forged_png() -> Callable[[Path, int, int], Path]:
    """Writes a PNG header of any size with no pixels behind it (see ``_forged_png``)."""
    return _forged_png


@pytest.fixture
def bad_inputs(tmp_path: Path, astronaut: np.ndarray) -> dict[str, Path]:
    """One file of each kind of bad input, in ``tmp_path / "bad"``, by the reason it should give."""
    from PIL import Image

    folder = tmp_path / "bad"
    folder.mkdir()
    Image.fromarray(astronaut).save(folder / "whole.jpg", quality=90)
    jpeg = (folder / "whole.jpg").read_bytes()
    (folder / "whole.jpg").unlink()
    scan = jpeg.index(b"\xff\xda")  # start of scan: the compressed pixels follow
    paths = {
        "file is empty": folder / "empty.jpg",
        "truncated or corrupt": folder / "truncated.jpg",
        "not an image": folder / "notes.jpg",
        "corrupt": folder / "corrupt.jpg",
        "400 MP is over the 100 MP limit": folder / "huge.png",
    }
    paths["file is empty"].write_bytes(b"")
    paths["truncated or corrupt"].write_bytes(jpeg[: len(jpeg) // 2])
    paths["not an image"].write_text("these are my holiday notes, not a photo\n")
    paths["corrupt"].write_bytes(jpeg[: scan + 4000] + b"\xff\xc0" + jpeg[scan + 4002 :])
    _forged_png(paths["400 MP is over the 100 MP limit"], 20_000, 20_000)
    return paths


@pytest.fixture(scope="session")
def make_test_video() -> Callable[..., Path]:
    """``benchmarks/_video.py``'s video maker; benchmarks are scripts, not a package, so load it by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("veil_benchmarks_video", REPO / "benchmarks" / "_video.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("cannot load benchmarks/_video.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_test_video  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def astronaut_canvas(tmp_path_factory: pytest.TempPathFactory, astronaut: np.ndarray) -> Path:
    """The astronaut in the middle of a wider grey canvas, so video pans and zooms never cut her face."""
    from PIL import Image

    canvas = np.full((576, 1024, 3), 110, np.uint8)
    canvas[32:544, 256:768] = astronaut
    path = tmp_path_factory.mktemp("photos") / "canvas.png"
    Image.fromarray(canvas).save(path)
    return path


@pytest.fixture(scope="session")
def astronaut_gif(tmp_path_factory: pytest.TempPathFactory, astronaut: np.ndarray) -> Path:
    """An animated GIF of four frames panning across the astronaut (her face moves 24 px a frame)."""
    from PIL import Image

    frames = [Image.fromarray(astronaut[40:360, 24 * step : 24 * step + 320]) for step in range(4)]
    path = tmp_path_factory.mktemp("animations") / "astronaut.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[80, 90, 100, 110], loop=0)
    return path
