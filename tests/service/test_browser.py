"""The web page in headless Chromium against ``veil serve``: drop a photo, blur it, compare, download."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tests.service._server import Server, veil
from tests.service.conftest import encode

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    data_dir = tmp_path / "data"
    key = veil("keys", "create", "browser", "--data-dir", str(data_dir)).stdout.strip()
    server = Server(data_dir).start()
    try:
        yield server, key
    finally:
        server.stop()


def _drop(page: Any, selector: str, name: str, data: bytes) -> None:
    """Drop a file on ``selector`` the way a user's drag and drop does (a drop event with a DataTransfer)."""
    transfer = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/png" }));
            return transfer;
        }""",
        [name, base64.b64encode(data).decode()],
    )
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def _page_with_key(browser: Any, server: Server, key: str, photo: np.ndarray) -> Any:
    page = browser.new_page()
    page.goto(server.url + "/")
    page.evaluate("(key) => sessionStorage.setItem('veil-api-key', key)", key)
    page.reload()
    page.set_input_files(
        "#files", files=[{"name": "me.png", "mimeType": "image/png", "buffer": encode(photo)}]
    )
    return page


def test_page_blurs_a_dropped_photo(
    browser: Any, served: tuple[Server, str], small_astronaut: np.ndarray, tmp_path: Path
) -> None:
    server, key = served
    page = browser.new_page(accept_downloads=True)
    page.goto(server.url + "/")
    assert page.title().startswith("veil")
    _drop(page, "#drop", "astronaut.png", encode(small_astronaut))
    assert page.text_content("#chosen") == "1 photo(s): astronaut.png"
    assert page.is_disabled("#start")  # no key yet
    page.fill("#api-key", key)
    page.click("#save-key")
    page.wait_for_selector("#key-status:has-text('key accepted')")
    assert page.evaluate("sessionStorage.getItem('veil-api-key')") == key
    page.check("input[name=action][value=blur]")
    page.click("#start")
    page.wait_for_selector("#photo-0 img.after[src^='blob:']", timeout=60_000)
    page.wait_for_selector("#status:has-text('Finished: 1 done, 0 failed')")
    assert page.get_attribute("#photo-0 img.before", "src").startswith("blob:")
    after_b64 = page.evaluate(
        """async () => {
            const blob = await (await fetch(document.querySelector("#photo-0 img.after").src)).blob();
            const bytes = new Uint8Array(await blob.arrayBuffer());
            let text = "";
            for (const b of bytes) text += String.fromCharCode(b);
            return btoa(text);
        }"""
    )
    after = np.asarray(Image.open(io.BytesIO(base64.b64decode(after_b64))).convert("RGB"))
    assert after.shape == small_astronaut.shape
    changed = np.any(after != small_astronaut, axis=2)
    rows, cols = np.nonzero(changed)
    # Her face is at about x 90-134, y 32-87 (see test_api); the blur stays around it.
    assert changed[40:80, 95:130].mean() > 0.9
    assert cols.min() > 50 and cols.max() < 175 and rows.min() >= 0 and rows.max() < 130
    with page.expect_download() as download_info:
        page.click("#download-zip")
    archive = tmp_path / "results.zip"
    download_info.value.save_as(archive)
    assert zipfile.ZipFile(archive).namelist() == ["astronaut_blurred.png"]
    page.click("#delete-job")
    page.wait_for_selector("#status:has-text('Deleted from the server')")
    assert not any((server.data_dir / "jobs").iterdir())
    page.close()


def test_page_cloaks_and_opens_the_card(
    browser: Any, served: tuple[Server, str], small_astronaut: np.ndarray
) -> None:
    server, key = served
    page = _page_with_key(browser, server, key, small_astronaut)
    assert page.input_value("#api-key") == key
    page.check("input[name=action][value=cloak]")
    page.select_option("#mode", "low")
    page.click("#start")
    page.wait_for_selector("#photo-0 button.card", timeout=120_000)
    with page.context.expect_page() as card_info:
        page.click("#photo-0 button.card")
    card = card_info.value
    card.wait_for_url("blob:**")
    card.wait_for_load_state()
    assert "sface" in card.content()
    page.close()


def test_page_hides_gender_and_lists_what_the_judges_read(
    browser: Any, served: tuple[Server, str], small_astronaut: np.ndarray
) -> None:
    server, key = served
    page = _page_with_key(browser, server, key, small_astronaut)
    page.check("input[name=action][value=hide]")
    page.uncheck("input[name=attribute][value=gender]")
    page.click("#start")
    assert page.text_content("#status") == "Choose at least one attribute to hide."
    page.check("input[name=attribute][value=gender]")
    page.click("#start")
    page.wait_for_selector("#photo-0 ul.reads li", timeout=120_000)
    line = page.text_content("#photo-0 ul.reads li")
    gender = "(fe)?male"
    assert re.fullmatch(
        rf"face 1: gender shown as {gender} \(sface: {gender} → {gender}; facenet: {gender} → {gender}\)",
        line,
    ), line
    page.wait_for_selector("#status:has-text('Finished: 1 done, 0 failed')")
    assert page.get_attribute("#photo-0 img.after", "src").startswith("blob:")
    page.close()


def test_page_reads_attributes_without_keeping_the_photo(
    browser: Any, served: tuple[Server, str], small_astronaut: np.ndarray
) -> None:
    server, key = served
    page = _page_with_key(browser, server, key, small_astronaut)
    page.check("input[name=action][value=read]")
    page.select_option("#judge", "sface")
    page.click("#start")
    page.wait_for_selector("#status:has-text('Read 1 photo(s) with the sface judge.')", timeout=60_000)
    line = page.text_content("#photo-0 ul.reads li")
    assert re.fullmatch(r"face 1: (fe)?male \(\d+%\), [0-9+-]+ \(\d+%\), [A-Za-z]+ \(\d+%\)", line), line
    assert page.query_selector("#photo-0 img.after") is None
    assert not (server.data_dir / "jobs").exists() or not any((server.data_dir / "jobs").iterdir())
    page.close()
