"""EfficientNet-Lite0, the utility classifier: the port matches its reference, photos get sensible classes.

The port is compared with logits that the reference implementation
(``efficientnet-lite-pytorch`` 0.1.0) computed once from the same weights file
(``scripts/make_efficientnet_golden.py`` says how to recompute them). ImageNet-1k
class indices used below: 281-285 domestic cats (281 tabby, 282 tiger cat,
285 Egyptian cat), 518 crash helmet, 560 football helmet, 967 espresso.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data

from veil.errors import InputError
from veil.evaluate import classify
from veil.evaluate._efficientnet import EfficientNetLite0, load_efficientnet_lite0
from veil.models import weights_path

GOLDEN = Path(__file__).parent / "golden" / "efficientnet_golden.npz"

# Logits span about +-12. The port folds each BatchNorm into its conv, which changes
# float32 rounding only: measured 8e-6 at most against the reference.
LOGIT_MAX_ABS_DIFF = 1e-4

HELMETS = {518, 560}  # the astronaut's space helmet fills the lower right of the photo
DOMESTIC_CATS = set(range(281, 286))
ESPRESSO = 967


@pytest.fixture(scope="module")
def network() -> EfficientNetLite0:
    return load_efficientnet_lite0(weights_path("efficientnet-lite0"))


def test_port_agrees_with_the_reference_logits(network: EfficientNetLite0) -> None:
    golden = np.load(GOLDEN)
    upscale = int(golden["upscale"])
    pixels = torch.from_numpy(golden["pixels"]).permute(0, 3, 1, 2).float()
    pixels = pixels.repeat_interleave(upscale, dim=2).repeat_interleave(upscale, dim=3)
    with torch.no_grad():
        logits = network(pixels).numpy()
    reference = golden["logits"]
    assert logits.shape == reference.shape == (3, 1000)
    assert np.abs(logits - reference).max() < LOGIT_MAX_ABS_DIFF
    np.testing.assert_array_equal(np.argsort(-logits)[:, :5], np.argsort(-reference)[:, :5])


def test_network_is_ready_for_inference(network: EfficientNetLite0) -> None:
    assert not network.training
    assert not any(parameter.requires_grad for parameter in network.parameters())


def test_photos_get_sensible_classes(astronaut: np.ndarray) -> None:
    classes = classify([astronaut, data.chelsea(), data.coffee()])
    assert classes.shape == (3, 5)
    assert classes.dtype == np.int64
    assert classes[0, 0] in HELMETS
    assert classes[1, 0] in DOMESTIC_CATS
    assert classes[2, 0] == ESPRESSO


def test_batches_give_the_same_classes_as_single_photos(astronaut: np.ndarray) -> None:
    photos = [astronaut, data.chelsea(), data.coffee()]
    alone = np.concatenate([classify([photo], top_k=3) for photo in photos])
    batched = classify(photos * 6, top_k=3)  # 18 photos: more than one batch of 16
    np.testing.assert_array_equal(batched, np.tile(alone, (6, 1)))


def test_classify_takes_any_count_and_top_k(astronaut: np.ndarray) -> None:
    assert classify([], top_k=3).shape == (0, 3)
    assert classify([astronaut], top_k=1).shape == (1, 1)
    with pytest.raises(ValueError, match="top_k"):
        classify([astronaut], top_k=0)


def test_classify_refuses_what_is_not_an_rgb_image(astronaut: np.ndarray) -> None:
    with pytest.raises(InputError, match="RGB uint8"):
        classify([astronaut.astype(np.float32)])  # type: ignore[list-item]


def test_loading_checks_every_key(tmp_path: Path) -> None:
    state = torch.load(weights_path("efficientnet-lite0"), map_location="cpu", weights_only=True)
    missing = dict(state)
    del missing["_fc.bias"]
    extra = {**state, "_blocks.16._project_conv.weight": torch.zeros(1)}
    misshapen = {**state, "_fc.weight": torch.zeros(10, 1280)}
    for name, bad in (("missing", missing), ("extra", extra), ("misshapen", misshapen)):
        path = tmp_path / f"{name}.pth"
        torch.save(bad, path)
        with pytest.raises(InputError, match="not the EfficientNet-Lite0 weights"):
            load_efficientnet_lite0(path)


def test_loading_refuses_a_file_that_is_no_state_dict(tmp_path: Path) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("not weights")
    with pytest.raises(InputError, match="cannot read a PyTorch state dict"):
        load_efficientnet_lite0(text)
    tensor = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(InputError, match="not a state dict"):
        load_efficientnet_lite0(tensor)
