"""The PyTorch ports of SFace and FaceNet agree with their reference runtimes on real aligned faces.

SFace is compared with onnxruntime running the same int8 ONNX file; FaceNet
with embeddings that the original Keras model computed once
(``scripts/make_facenet_golden.py`` says how to recompute them). Both are
compared on the embedding (the L2-normalised output, what every caller uses)
and on the raw output relative to its own scale.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from veil.align import align
from veil.detect import get_detector
from veil.embed._facenet_net import FACENET_INPUT_SIZE, FaceNet, load_facenet
from veil.embed._sface_net import SFACE_INPUT_SIZE, SFaceNet, load_sface
from veil.errors import InputError
from veil.models import weights_path

GOLDEN = Path(__file__).parent / "golden" / "facenet_golden.npz"

# The bar for a port, per face, on L2-normalised embeddings. Measured:
# about 3e-7 for both models (SFace's dequantised weights are bit-identical to
# onnxruntime's; what is left is float32 summation order and folded BatchNorms).
EMBEDDING_MAX_ABS_DIFF = 1e-3
EMBEDDING_MIN_COSINE = 0.999
# Raw outputs (norm about 12 for both) may differ by this fraction of their largest component.
RAW_RELATIVE_DIFF = 1e-3
# A step of 0.1 (L2 norm over the whole crop, 0-255 units) along the gradient: big enough to be
# resolved in float32, small enough to stay nearly linear. Measured error about 1e-3.
GRADIENT_STEP = 0.1
GRADIENT_RELATIVE_DIFF = 1e-2
LFW_FACES = 16

Crops = NDArray[np.uint8]


@pytest.fixture(scope="module")
def sface() -> SFaceNet:
    return load_sface(weights_path("sface"))


@pytest.fixture(scope="module")
def facenet() -> FaceNet:
    return load_facenet(weights_path("facenet"))


@pytest.fixture(scope="module")
def sface_reference() -> Callable[[Crops], NDArray[np.float32]]:
    """SFace through onnxruntime: one crop at a time (the graph's batch size is fixed at 1)."""
    import onnx
    import onnxruntime

    model = onnx.load(str(weights_path("sface")))
    # The file still lists its float weights as graph inputs, though nothing reads
    # them any more: drop them so that onnxruntime asks for ``data`` only.
    constants = {init.name for init in model.graph.initializer}
    consumed = {name for node in model.graph.node for name in node.input}
    inputs = [i for i in model.graph.input if i.name in consumed and i.name not in constants]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # its notes about unused initializers are about the file, not the test
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )

    def run(crops: Crops) -> NDArray[np.float32]:
        blobs = _nchw(crops).numpy()
        return np.concatenate([session.run(None, {"data": blob[None]})[0] for blob in blobs])

    return run


@pytest.fixture(scope="module")
def astronaut_sface_crops(astronaut: NDArray[np.uint8]) -> Crops:
    """The astronaut's face aligned for SFace, plus mirrored, darker and noisy variants."""
    face = get_detector("yunet").detect(astronaut)[0]
    crop = align(astronaut, face, size=SFACE_INPUT_SIZE).crop
    noise = np.random.default_rng(0).normal(0.0, 8.0, crop.shape)
    darker = crop.astype(np.float64) * 0.6
    return np.stack([crop, crop[:, ::-1], _to_uint8(darker), _to_uint8(crop + noise)])


def test_sface_matches_onnxruntime_on_the_astronaut(
    sface: SFaceNet,
    sface_reference: Callable[[Crops], NDArray[np.float32]],
    astronaut_sface_crops: Crops,
) -> None:
    _assert_same_embeddings(_run(sface, astronaut_sface_crops), sface_reference(astronaut_sface_crops))


@pytest.mark.data
def test_sface_matches_onnxruntime_on_lfw(
    sface: SFaceNet, sface_reference: Callable[[Crops], NDArray[np.float32]], shared_data: Path
) -> None:
    crops = _lfw_crops(shared_data, size=SFACE_INPUT_SIZE)
    _assert_same_embeddings(_run(sface, crops), sface_reference(crops))


def test_facenet_matches_keras_golden_embeddings(facenet: FaceNet) -> None:
    golden = np.load(GOLDEN)
    crops, expected = golden["crops"], golden["embeddings"]
    assert crops.shape[1:] == (FACENET_INPUT_SIZE, FACENET_INPUT_SIZE, 3)
    assert len(crops) >= 8
    _assert_same_embeddings(_run(facenet, crops), expected)


def test_facenet_golden_faces_are_distinct_inputs() -> None:
    """The golden faces are not near-copies of one embedding, so agreement on them means something."""
    embeddings = _normalised(np.load(GOLDEN)["embeddings"])
    similarity = embeddings @ embeddings.T
    off_diagonal = similarity[~np.eye(len(similarity), dtype=bool)]
    assert off_diagonal.max() < 0.999


def test_sface_gradients_reach_the_input_pixels(sface: SFaceNet, astronaut_sface_crops: Crops) -> None:
    _assert_gradients_reach_pixels(sface, astronaut_sface_crops[:1])


def test_facenet_gradients_reach_the_input_pixels(facenet: FaceNet) -> None:
    _assert_gradients_reach_pixels(facenet, np.load(GOLDEN)["crops"][:1])


def test_loaded_models_are_frozen_and_in_eval_mode(sface: SFaceNet, facenet: FaceNet) -> None:
    for net in (sface, facenet):
        assert not net.training
        assert not any(parameter.requires_grad for parameter in net.parameters())


def test_load_sface_rejects_another_onnx_graph() -> None:
    with pytest.raises(InputError, match="not the SFace"):
        load_sface(weights_path("yunet"))


def test_load_facenet_rejects_an_h5_without_its_layers(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset(
            "Conv2d_1a_3x3/Conv2d_1a_3x3/kernel:0", data=np.zeros((3, 3, 3, 16), np.float32)
        )
    with pytest.raises(InputError, match="not the FaceNet"):
        load_facenet(path)


def _assert_same_embeddings(actual: NDArray[np.float32], expected: NDArray[np.float32]) -> None:
    assert actual.shape == expected.shape
    assert actual.shape[1] == 128
    raw_diff = np.abs(actual - expected).max(axis=1)
    assert (raw_diff <= RAW_RELATIVE_DIFF * np.abs(expected).max(axis=1)).all(), raw_diff
    actual_unit, expected_unit = _normalised(actual), _normalised(expected)
    unit_diff = np.abs(actual_unit - expected_unit).max(axis=1)
    cosine = (actual_unit * expected_unit).sum(axis=1)
    assert (unit_diff <= EMBEDDING_MAX_ABS_DIFF).all(), unit_diff
    assert (cosine >= EMBEDDING_MIN_COSINE).all(), cosine


def _assert_gradients_reach_pixels(net: torch.nn.Module, crops: Crops) -> None:
    """Backward from the embedding gives a finite, non-zero and correct gradient on (nearly) every pixel.

    Correct means that a small step along the gradient changes the loss by the
    gradient's norm times the step (a central difference).
    """
    pixels = _nchw(crops).requires_grad_(True)
    target = torch.randn(len(crops), 128, generator=torch.Generator().manual_seed(0))

    def loss(x: torch.Tensor) -> torch.Tensor:
        return (torch.nn.functional.normalize(net(x), dim=1) * target).sum()

    loss(pixels).backward()
    grad = pixels.grad
    assert grad is not None
    assert torch.isfinite(grad).all()
    assert (grad != 0).float().mean() > 0.99

    step = GRADIENT_STEP * grad / grad.norm()
    with torch.no_grad():
        slope = (loss(pixels + step) - loss(pixels - step)) / (2 * GRADIENT_STEP)
    assert abs(float(slope / grad.norm()) - 1.0) <= GRADIENT_RELATIVE_DIFF


def _lfw_crops(shared_data: Path, *, size: int) -> Crops:
    """Aligned crops of the first photo of the first ``LFW_FACES`` people with a detected face."""
    from PIL import Image

    detector = get_detector("yunet")
    crops = []
    for folder in sorted((shared_data / "lfw" / "images").iterdir()):
        photo = next(iter(sorted(folder.glob("*.jpg"))), None)
        if photo is None:
            continue
        with Image.open(photo) as handle:
            image = np.asarray(handle.convert("RGB"))  # this LFW copy is grayscale
        faces = detector.detect(image)
        if faces:
            crops.append(align(image, faces[0], size=size).crop)
        if len(crops) == LFW_FACES:
            break
    assert len(crops) == LFW_FACES
    return np.stack(crops)


def _run(net: torch.nn.Module, crops: Crops) -> NDArray[np.float32]:
    with torch.no_grad():
        return np.asarray(net(_nchw(crops)).numpy(), dtype=np.float32)


def _nchw(crops: Crops) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()


def _normalised(rows: NDArray[np.float32]) -> NDArray[np.float32]:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _to_uint8(values: NDArray[np.float64]) -> Crops:
    return np.clip(np.round(values), 0, 255).astype(np.uint8)
