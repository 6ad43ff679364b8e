"""EfficientNet-Lite0 (ImageNet-1k) as a plain PyTorch module: the classifier of the utility protocol.

The weights (card ``efficientnet-lite0``) are Google's TensorFlow EfficientNet-Lite0
checkpoint converted to a PyTorch state dict named after the layers of the
``efficientnet_pytorch`` package. Only the state dict is used: the network is
written here and the keys are renamed onto it, with strict checking, so a file
with a missing, extra or misshapen tensor fails at load time.

Lite0 is EfficientNet-B0 made friendly to integer hardware: ReLU6 instead of
swish, no squeeze-and-excitation, 16 inverted-residual blocks in seven stages.
Its convolutions pad like TensorFlow's "SAME", which is asymmetric on stride-2
layers (one pixel more on the bottom and right), so those pad in ``forward``
rather than through ``nn.Conv2d``. Every BatchNorm has epsilon 1e-3; once the
weights are loaded, each is folded into the conv before it.

Preprocessing is the TensorFlow evaluation pipeline the weights were trained and
scored with: a centred square crop of 224 / (224 + 32) of the short side,
resized to 224 x 224 (bicubic), then ``(x - 127) / 128`` per channel (the
"inception-style" mean and deviation the Lite models use instead of ImageNet's).
"""

from __future__ import annotations

import functools
import logging
import pickle
import re
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image as PILImage
from torch import nn
from torch.nn import functional

from veil import models
from veil.errors import InputError
from veil.io import check_image
from veil.types import Image

__all__ = [
    "EFFICIENTNET_INPUT_SIZE",
    "N_CLASSES",
    "EfficientNetLite0",
    "classify",
    "load_efficientnet_lite0",
    "to_input",
]

logger = logging.getLogger(__name__)

EFFICIENTNET_INPUT_SIZE = 224
"""Side of the square input the weights were trained at."""

N_CLASSES = 1000
"""ImageNet-1k classes, in the usual order (0 = tench, ..., 999 = toilet tissue)."""

MODEL = "efficientnet-lite0"
"""The model card the weights come from."""

# TensorFlow's evaluation crop keeps 224 of every 256 pixels of the short side (CROP_PADDING = 32).
_CROP_FRACTION = EFFICIENTNET_INPUT_SIZE / (EFFICIENTNET_INPUT_SIZE + 32)
_PIXEL_MEAN = 127.0
_PIXEL_STD = 128.0
_BN_EPSILON = 1e-3
_BATCH_SIZE = 16  # measured: 220 MB of activations at peak; ms per photo flat from batch 4 up
_STEM_CHANNELS = 32
_HEAD_CHANNELS = 1280

# The seven stages: (blocks, depthwise kernel, stride of the first block, expansion, output channels).
_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)

# Key names of the state dict in the package -> names of the modules here.
_RENAMES = (
    (r"^_conv_stem\.", "stem.conv."),
    (r"^_bn0\.", "stem.bn."),
    (r"^_blocks\.(\d+)\._expand_conv\.", r"blocks.\1.expand.conv."),
    (r"^_blocks\.(\d+)\._bn0\.", r"blocks.\1.expand.bn."),
    (r"^_blocks\.(\d+)\._depthwise_conv\.", r"blocks.\1.depthwise.conv."),
    (r"^_blocks\.(\d+)\._bn1\.", r"blocks.\1.depthwise.bn."),
    (r"^_blocks\.(\d+)\._project_conv\.", r"blocks.\1.project.conv."),
    (r"^_blocks\.(\d+)\._bn2\.", r"blocks.\1.project.bn."),
    (r"^_conv_head\.", "head.conv."),
    (r"^_bn1\.", "head.bn."),
    (r"^_fc\.", "classifier."),
)


class EfficientNetLite0(nn.Module):
    """The EfficientNet-Lite0 network: RGB 0-255 batches in, 1000 ImageNet logits out.

    Input is (N, 3, 224, 224) float RGB in 0-255, as :func:`to_input` makes it;
    the normalisation is part of ``forward``, so gradients reach the pixels.
    Build it with :func:`load_efficientnet_lite0`; a bare ``EfficientNetLite0()``
    has untrained weights.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stem = _ConvBN(3, _STEM_CHANNELS, kernel=3, stride=2)
        blocks: list[nn.Module] = []
        channels = _STEM_CHANNELS
        for repeats, kernel, stride, expansion, out_channels in _STAGES:
            for index in range(repeats):
                blocks.append(
                    _InvertedResidual(
                        channels,
                        out_channels,
                        kernel=kernel,
                        stride=stride if index == 0 else 1,
                        expansion=expansion,
                    )
                )
                channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.head = _ConvBN(channels, _HEAD_CHANNELS, kernel=1, stride=1)
        self.classifier = nn.Linear(_HEAD_CHANNELS, N_CLASSES)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Logits (N, 1000) of (N, 3, 224, 224) RGB 0-255 inputs."""
        x = (pixels - _PIXEL_MEAN) / _PIXEL_STD
        features = self.head(self.blocks(self.stem(x)))
        logits: torch.Tensor = self.classifier(features.mean(dim=(2, 3)))
        return logits


def load_efficientnet_lite0(weights: Path) -> EfficientNetLite0:
    """EfficientNet-Lite0 with the weights of the state dict file ``weights``, ready for inference.

    The state dict must match the network key for key and shape for shape.
    Then every BatchNorm is folded into its conv (measured a third faster on a
    CPU), so the module is for inference: it is in eval mode and its parameters
    do not require gradients, while gradients still reach the input pixels.

    Raises:
        InputError: ``weights`` cannot be read as a state dict, or its tensors do
            not match the network exactly (a missing, extra or misshapen key).
    """
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise InputError(weights, f"cannot read a PyTorch state dict ({err})") from err
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise InputError(weights, "not a state dict of tensors")
    net = EfficientNetLite0()
    try:
        net.load_state_dict({_rename(key): value for key, value in state.items()}, strict=True)
    except RuntimeError as err:
        reason = " ".join(str(err).split())
        raise InputError(weights, f"not the EfficientNet-Lite0 weights ({reason})") from err
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, _ConvBN):
                module.fold_batchnorm()
    logger.info("loaded EfficientNet-Lite0 from %s", weights)
    return net.eval().requires_grad_(False)


def to_input(images: Sequence[Image]) -> torch.Tensor:
    """The network's input for ``images``: (N, 3, 224, 224) float32 RGB 0-255.

    Each image is cropped to the centred square of 87.5% of its short side and
    resized to 224 x 224 with Pillow's bicubic filter (which antialiases, where
    TensorFlow's evaluation resize does not).

    Raises:
        InputError: An image is not an RGB ``uint8`` (H, W, 3) array.
    """
    batch = np.empty((len(images), EFFICIENTNET_INPUT_SIZE, EFFICIENTNET_INPUT_SIZE, 3), np.uint8)
    for row, image in enumerate(images):
        checked = check_image(image)
        height, width = checked.shape[:2]
        side = max(1, int(_CROP_FRACTION * min(height, width)))
        top, left = (height - side + 1) // 2, (width - side + 1) // 2
        crop = PILImage.fromarray(checked).resize(
            (EFFICIENTNET_INPUT_SIZE, EFFICIENTNET_INPUT_SIZE),
            PILImage.Resampling.BICUBIC,
            box=(left, top, left + side, top + side),
        )
        batch[row] = np.asarray(crop)
    return torch.from_numpy(batch).permute(0, 3, 1, 2).float()


def classify(images: Sequence[Image], *, top_k: int = 5) -> NDArray[np.int64]:
    """The ``top_k`` ImageNet classes of each image, best first; see :func:`veil.evaluate.classify`."""
    if not 1 <= top_k <= N_CLASSES:
        raise ValueError(f"top_k must be between 1 and {N_CLASSES}, got {top_k}")
    net = _network()
    classes = np.empty((len(images), top_k), np.int64)
    with torch.inference_mode():
        for start in range(0, len(images), _BATCH_SIZE):
            logits = net(to_input(images[start : start + _BATCH_SIZE]))
            classes[start : start + len(logits)] = logits.topk(top_k, dim=1).indices.numpy()
    return classes


@functools.cache
def _network() -> EfficientNetLite0:
    """The network, loaded once per process."""
    return load_efficientnet_lite0(models.weights_path(MODEL))


def _rename(key: str) -> str:
    for pattern, replacement in _RENAMES:
        renamed, count = re.subn(pattern, replacement, key)
        if count:
            return renamed
    return key  # left as it is, so that strict loading names it as unexpected


class _ConvBN(nn.Module):
    """Conv (TensorFlow "SAME" padding) + BatchNorm, then ReLU6 unless ``is_linear``.

    Stride-1 convs pad ``kernel // 2`` on every side, which is what "SAME" does
    with odd kernels; stride-2 convs pad in ``forward``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel: int,
        stride: int,
        groups: int = 1,
        is_linear: bool = False,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel,
            stride=stride,
            padding=kernel // 2 if stride == 1 else 0,
            groups=groups,
            bias=False,
        )
        self.bn: nn.Module = nn.BatchNorm2d(out_channels, eps=_BN_EPSILON)
        self.is_linear = is_linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv.stride[0] != 1:
            x = _pad_same(x, self.conv.kernel_size[0], self.conv.stride[0])
        out: torch.Tensor = self.bn(self.conv(x))
        return out if self.is_linear else functional.relu6(out, inplace=True)

    def fold_batchnorm(self) -> None:
        """Fold the inference BatchNorm into the conv's weights and a new bias, leaving an identity."""
        bn = self.bn
        if not isinstance(bn, nn.BatchNorm2d):
            return
        running_mean, running_var = cast(torch.Tensor, bn.running_mean), cast(torch.Tensor, bn.running_var)
        scale = bn.weight / torch.sqrt(running_var + bn.eps)
        self.conv.weight.copy_(self.conv.weight * scale[:, None, None, None])
        self.conv.bias = nn.Parameter(bn.bias - running_mean * scale, requires_grad=False)
        self.bn = nn.Identity()


class _InvertedResidual(nn.Module):
    """MobileNet-v2 block: 1x1 expansion, depthwise conv, linear 1x1 projection, skip when shapes allow."""

    def __init__(
        self, in_channels: int, out_channels: int, *, kernel: int, stride: int, expansion: int
    ) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.expand = _ConvBN(in_channels, hidden, kernel=1, stride=1) if expansion != 1 else nn.Identity()
        self.depthwise = _ConvBN(hidden, hidden, kernel=kernel, stride=stride, groups=hidden)
        self.project = _ConvBN(hidden, out_channels, kernel=1, stride=1, is_linear=True)
        self.has_skip = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.project(self.depthwise(self.expand(x)))
        return out + x if self.has_skip else out


def _pad_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Pad like TensorFlow's "SAME": output side ceil(side / stride), any odd pixel on the bottom/right."""
    padding: list[int] = []
    for side in (x.shape[3], x.shape[2]):  # F.pad takes the last dimension first
        total = max((-(-side // stride) - 1) * stride + kernel - side, 0)
        padding += [total // 2, total - total // 2]
    return functional.pad(x, padding) if any(padding) else x
