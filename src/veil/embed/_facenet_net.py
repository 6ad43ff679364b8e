"""FaceNet (Inception-ResNet-v1, 20170512 weights) as a plain PyTorch module, read from Keras ``.h5``.

The weights ship as a Keras 2 model file (card ``facenet``). Its saved config
cannot be rebuilt by current Keras (the residual scaling is a Python lambda
stored as bytecode), and TensorFlow is not a veil dependency, so the network is
written here and only the weights are read, with ``h5py``, by the Keras layer
names.

Every conv is followed by a BatchNorm without scale (gamma fixed to 1, epsilon
1e-3) and a ReLU; the BatchNorms are folded into the conv biases at load time.
The "same" paddings are all on stride-1 convs with odd kernels, so they are the
symmetric paddings ``kernel // 2``; every stride-2 layer is "valid".
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from veil.errors import InputError

__all__ = ["FACENET_INPUT_SIZE", "FaceNet", "load_facenet", "prewhiten"]

logger = logging.getLogger(__name__)

FACENET_INPUT_SIZE = 160
"""Side of the square face crop FaceNet takes."""

_FEATURES = 128
_BN_EPSILON = 1e-3  # every BatchNorm in the Keras config
_BN_PARTS = ("beta", "moving_mean", "moving_variance")  # scale=False: no gamma

Array = NDArray[np.float64]

Kernel = int | tuple[int, int]


def prewhiten(crops: torch.Tensor) -> torch.Tensor:
    """Standardise each image to zero mean and unit variance, as FaceNet was trained.

    ``(x - mean) / max(std, 1 / sqrt(n))`` over all ``n`` values of one image
    (population std); the floor keeps flat images finite. This is davidsandberg
    facenet's ``prewhiten``, so it also makes the model insensitive to global
    brightness and contrast.
    """
    flat = crops.flatten(1)
    mean = flat.mean(dim=1)
    std = flat.std(dim=1, correction=0).clamp(min=1.0 / math.sqrt(flat.shape[1]))
    return (crops - mean[:, None, None, None]) / std[:, None, None, None]


class FaceNet(nn.Module):
    """Inception-ResNet-v1: aligned RGB crops in, raw 128-D features out.

    Input is (N, 3, 160, 160) float RGB in 0-255; ``forward`` prewhitens each
    crop itself (see ``prewhiten``). Output is (N, 128) float32, not normalised:
    callers L2-normalise it. Build it with ``load_facenet``; a bare ``FaceNet()``
    has untrained weights.

    As for ``SFaceNet``, a batch permuted from an (N, H, W, 3) array (channels-last
    memory) runs a little faster on a CPU than a contiguous one.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            _ConvBnRelu("Conv2d_1a_3x3", 3, 32, 3, stride=2),
            _ConvBnRelu("Conv2d_2a_3x3", 32, 32, 3),
            _ConvBnRelu("Conv2d_2b_3x3", 32, 64, 3, padding=1),
            nn.MaxPool2d(3, stride=2),
            _ConvBnRelu("Conv2d_3b_1x1", 64, 80, 1),
            _ConvBnRelu("Conv2d_4a_3x3", 80, 192, 3),
            _ConvBnRelu("Conv2d_4b_3x3", 192, 256, 3, stride=2),
        )
        self.blocks35 = nn.Sequential(*(_Block35(f"Block35_{i}") for i in range(1, 6)))
        self.mixed_6a = _Mixed6a()
        self.blocks17 = nn.Sequential(*(_Block17(f"Block17_{i}") for i in range(1, 11)))
        self.mixed_7a = _Mixed7a()
        self.blocks8 = nn.Sequential(
            *(_Block8(f"Block8_{i}", scale=0.2, has_relu=True) for i in range(1, 6)),
            _Block8("Block8_6", scale=1.0, has_relu=False),
        )
        # Dense "Bottleneck" (no bias) and its BatchNorm, folded.
        self.bottleneck = nn.Linear(1792, _FEATURES)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """Raw features of (N, 3, 160, 160) RGB 0-255 crops, shape (N, 128)."""
        x = self.stem(prewhiten(crops))
        x = self.blocks8(self.mixed_7a(self.blocks17(self.mixed_6a(self.blocks35(x)))))
        features: torch.Tensor = self.bottleneck(x.mean(dim=(2, 3)))
        return features


def load_facenet(weights: Path) -> FaceNet:
    """FaceNet with the weights of the Keras ``.h5`` file ``weights``, ready for inference.

    The module is in eval mode and its parameters do not require gradients, so
    that only the input gets gradients in an optimisation loop; call
    ``requires_grad_(True)`` to fine-tune it.

    Raises:
        InputError: ``weights`` is not this Inception-ResNet-v1 (a layer is
            missing or has another shape).
    """
    import h5py

    net = FaceNet()
    with h5py.File(weights, "r") as handle:
        root = handle.get("model_weights", handle)  # a full model file, or weights only
        try:
            with torch.no_grad():
                for module in net.modules():
                    if isinstance(module, _ConvBnRelu | _UpConv):
                        module.load(root)
                _load_bottleneck(net.bottleneck, root)
        except (KeyError, ValueError) as err:
            raise InputError(weights, f"not the FaceNet Inception-ResNet-v1 Keras file ({err})") from err
    logger.info("loaded FaceNet from %s", weights)
    return net.eval().requires_grad_(False)


class _ConvBnRelu(nn.Module):
    """Keras ``Conv2D`` (no bias) + ``BatchNormalization`` (no scale) + ReLU, as one conv with bias."""

    def __init__(
        self,
        keras_name: str,
        in_channels: int,
        out_channels: int,
        kernel: Kernel,
        *,
        stride: int = 1,
        padding: Kernel = 0,
    ) -> None:
        super().__init__()
        self.keras_name = keras_name
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))

    def load(self, root: Any) -> None:
        kernel = _keras_conv_kernel(root, self.keras_name, tuple(self.conv.weight.shape))
        beta, mean, var = (_dataset(root, f"{self.keras_name}_BatchNorm", part) for part in _BN_PARTS)
        scale = 1.0 / np.sqrt(var + _BN_EPSILON)
        self.conv.weight.copy_(_tensor(kernel * scale[:, None, None, None]))
        cast(torch.Tensor, self.conv.bias).copy_(_tensor(beta - mean * scale))


class _UpConv(nn.Module):
    """The 1x1 conv with bias that takes a residual branch back to the block's width."""

    def __init__(self, keras_name: str, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.keras_name = keras_name
        self.conv = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.conv(x)
        return out

    def load(self, root: Any) -> None:
        self.conv.weight.copy_(
            _tensor(_keras_conv_kernel(root, self.keras_name, tuple(self.conv.weight.shape)))
        )
        cast(torch.Tensor, self.conv.bias).copy_(_tensor(_dataset(root, self.keras_name, "bias")))


class _Block35(nn.Module):
    """Inception-ResNet-A on the 17x17x256 grid; the residual is scaled by 0.17."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.branch_0 = _ConvBnRelu(f"{name}_Branch_0_Conv2d_1x1", 256, 32, 1)
        self.branch_1 = nn.Sequential(
            _ConvBnRelu(f"{name}_Branch_1_Conv2d_0a_1x1", 256, 32, 1),
            _ConvBnRelu(f"{name}_Branch_1_Conv2d_0b_3x3", 32, 32, 3, padding=1),
        )
        self.branch_2 = nn.Sequential(
            _ConvBnRelu(f"{name}_Branch_2_Conv2d_0a_1x1", 256, 32, 1),
            _ConvBnRelu(f"{name}_Branch_2_Conv2d_0b_3x3", 32, 32, 3, padding=1),
            _ConvBnRelu(f"{name}_Branch_2_Conv2d_0c_3x3", 32, 32, 3, padding=1),
        )
        self.up = _UpConv(f"{name}_Conv2d_1x1", 96, 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = torch.cat((self.branch_0(x), self.branch_1(x), self.branch_2(x)), dim=1)
        return torch.relu(x + 0.17 * self.up(mixed))


class _Block17(nn.Module):
    """Inception-ResNet-B on the 8x8x896 grid; the residual is scaled by 0.1."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.branch_0 = _ConvBnRelu(f"{name}_Branch_0_Conv2d_1x1", 896, 128, 1)
        self.branch_1 = nn.Sequential(
            _ConvBnRelu(f"{name}_Branch_1_Conv2d_0a_1x1", 896, 128, 1),
            _ConvBnRelu(f"{name}_Branch_1_Conv2d_0b_1x7", 128, 128, (1, 7), padding=(0, 3)),
            _ConvBnRelu(f"{name}_Branch_1_Conv2d_0c_7x1", 128, 128, (7, 1), padding=(3, 0)),
        )
        self.up = _UpConv(f"{name}_Conv2d_1x1", 256, 896)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = torch.cat((self.branch_0(x), self.branch_1(x)), dim=1)
        return torch.relu(x + 0.1 * self.up(mixed))


class _Block8(nn.Module):
    """Inception-ResNet-C on the 3x3x1792 grid; the last one has no ReLU and an unscaled residual."""

    def __init__(self, name: str, *, scale: float, has_relu: bool) -> None:
        super().__init__()
        self.scale = scale
        self.has_relu = has_relu
        self.branch_0 = _ConvBnRelu(f"{name}_Branch_0_Conv2d_1x1", 1792, 192, 1)
        self.branch_1 = nn.Sequential(
            _ConvBnRelu(f"{name}_Branch_1_Conv2d_0a_1x1", 1792, 192, 1),
            _ConvBnRelu(f"{name}_Branch_1_Conv2d_0b_1x3", 192, 192, (1, 3), padding=(0, 1)),
            _ConvBnRelu(f"{name}_Branch_1_Conv2d_0c_3x1", 192, 192, (3, 1), padding=(1, 0)),
        )
        self.up = _UpConv(f"{name}_Conv2d_1x1", 384, 1792)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = torch.cat((self.branch_0(x), self.branch_1(x)), dim=1)
        out = x + self.scale * self.up(mixed)
        return torch.relu(out) if self.has_relu else out


class _Mixed6a(nn.Module):
    """Reduction-A: 17x17x256 -> 8x8x896."""

    def __init__(self) -> None:
        super().__init__()
        self.branch_0 = _ConvBnRelu("Mixed_6a_Branch_0_Conv2d_1a_3x3", 256, 384, 3, stride=2)
        self.branch_1 = nn.Sequential(
            _ConvBnRelu("Mixed_6a_Branch_1_Conv2d_0a_1x1", 256, 192, 1),
            _ConvBnRelu("Mixed_6a_Branch_1_Conv2d_0b_3x3", 192, 192, 3, padding=1),
            _ConvBnRelu("Mixed_6a_Branch_1_Conv2d_1a_3x3", 192, 256, 3, stride=2),
        )
        self.branch_2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.branch_0(x), self.branch_1(x), self.branch_2(x)), dim=1)


class _Mixed7a(nn.Module):
    """Reduction-B: 8x8x896 -> 3x3x1792."""

    def __init__(self) -> None:
        super().__init__()
        self.branch_0 = nn.Sequential(
            _ConvBnRelu("Mixed_7a_Branch_0_Conv2d_0a_1x1", 896, 256, 1),
            _ConvBnRelu("Mixed_7a_Branch_0_Conv2d_1a_3x3", 256, 384, 3, stride=2),
        )
        self.branch_1 = nn.Sequential(
            _ConvBnRelu("Mixed_7a_Branch_1_Conv2d_0a_1x1", 896, 256, 1),
            _ConvBnRelu("Mixed_7a_Branch_1_Conv2d_1a_3x3", 256, 256, 3, stride=2),
        )
        self.branch_2 = nn.Sequential(
            _ConvBnRelu("Mixed_7a_Branch_2_Conv2d_0a_1x1", 896, 256, 1),
            _ConvBnRelu("Mixed_7a_Branch_2_Conv2d_0b_3x3", 256, 256, 3, padding=1),
            _ConvBnRelu("Mixed_7a_Branch_2_Conv2d_1a_3x3", 256, 256, 3, stride=2),
        )
        self.branch_3 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch_0(x), self.branch_1(x), self.branch_2(x), self.branch_3(x))
        return torch.cat(branches, dim=1)


def _dataset(root: Any, layer: str, part: str) -> Array:
    """Weight ``part`` (``kernel``, ``beta``, ...) of Keras layer ``layer``, in float64."""
    return np.asarray(root[layer][layer][f"{part}:0"], dtype=np.float64)


def _keras_conv_kernel(root: Any, layer: str, shape: tuple[int, ...]) -> Array:
    """A Keras (kh, kw, in, out) conv kernel as a torch (out, in, kh, kw) one, checked against ``shape``."""
    kernel = _dataset(root, layer, "kernel").transpose(3, 2, 0, 1)
    if kernel.shape != shape:
        raise ValueError(f"{layer}: kernel shape {kernel.shape}, expected {shape}")
    return kernel


def _load_bottleneck(layer: nn.Linear, root: Any) -> None:
    """Fold the Dense ``Bottleneck`` (no bias) and its BatchNorm into ``layer``."""
    weight = _dataset(root, "Bottleneck", "kernel").T
    if weight.shape != tuple(layer.weight.shape):
        raise ValueError(f"Bottleneck: weight shape {weight.shape}, expected {tuple(layer.weight.shape)}")
    beta, mean, var = (_dataset(root, "Bottleneck_BatchNorm", part) for part in _BN_PARTS)
    scale = 1.0 / np.sqrt(var + _BN_EPSILON)
    layer.weight.copy_(_tensor(weight * scale[:, None]))
    cast(torch.Tensor, layer.bias).copy_(_tensor(beta - mean * scale))


def _tensor(values: Array) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
