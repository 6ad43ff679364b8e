"""SFace (OpenCV Zoo, 2021dec) as a plain PyTorch module, built from its int8 ONNX file.

The only SFace weights that can be had offline are the block-quantised int8 file
(card ``sface``). Its graph is a MobileNet-v1 body with PReLU activations on
112x112 inputs, 27 conv + BatchNorm + PReLU layers and no residual connections,
then BatchNorm, a fully connected layer to 128 features and a last BatchNorm.
Every conv and fully connected weight is stored as int8 with a float32 scale and
an int8 zero point per block of 64 input elements (9 for the 3x3 depthwise
kernels, that is one block per channel); ``DequantizeLinear`` turns them back
into float32 at run time. Here the dequantisation is done once at load time,
exactly as onnxruntime does it (``float32(q - zero_point) * scale``), and the
BatchNorms are folded into the layers before them, so the module is plain
float32 ``Conv2d``/``PReLU``/``Linear`` code and differentiable down to the
input pixels.

The module takes RGB 0-255 (OpenCV's ``FaceRecognizerSF.feature`` feeds its BGR
crop through ``blobFromImage(..., swapRB=true)``); the graph itself subtracts
127.5 and multiplies by 1/128, and so does ``SFaceNet.forward``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from veil.errors import InputError

__all__ = ["SFACE_INPUT_SIZE", "SFaceNet", "load_sface"]

logger = logging.getLogger(__name__)

SFACE_INPUT_SIZE = 112
"""Side of the square aligned crop SFace takes (ArcFace template)."""

_FEATURES = 128
_LAST_CHANNELS = 1024
_LAST_SIDE = SFACE_INPUT_SIZE // 16  # four stride-2 depthwise layers

# The depthwise-separable layers of the graph, named as in the ONNX file:
# (index, output channels of the pointwise conv, stride of the depthwise conv).
_SEPARABLE_LAYERS = (
    (2, 64, 1),
    (3, 128, 2),
    (4, 128, 1),
    (5, 256, 2),
    (6, 256, 1),
    (7, 512, 2),
    (8, 512, 1),
    (9, 512, 1),
    (10, 512, 1),
    (11, 512, 1),
    (12, 512, 1),
    (13, 1024, 2),
    (14, 1024, 1),
)

_BN_PARTS = ("gamma", "beta", "moving_mean", "moving_var")

Array = NDArray[Any]


class SFaceNet(nn.Module):
    """The SFace network: aligned RGB crops in, raw 128-D features out.

    Input is (N, 3, 112, 112) float RGB in 0-255, aligned to the ArcFace template
    (``veil.align`` with ``template="arcface"``, ``size=112``). Output is (N, 128)
    float32 features, not normalised: callers L2-normalise them. Build it with
    ``load_sface``; a bare ``SFaceNet()`` has untrained weights.

    Feed a batch made by permuting an (N, H, W, 3) array, which leaves it in
    channels-last memory: on a CPU that ran batches of 32 in about 21 ms per
    face against 34 ms for the same batch made contiguous (one thread).
    """

    def __init__(self) -> None:
        super().__init__()
        layers = [_ConvPrelu("conv_1", 3, 32, kernel=3, stride=1, groups=1)]
        channels = 32
        for index, out_channels, stride in _SEPARABLE_LAYERS:
            layers += [
                _ConvPrelu(f"conv_{index}_dw", channels, channels, kernel=3, stride=stride, groups=channels),
                _ConvPrelu(f"conv_{index}", channels, out_channels, kernel=1, stride=1, groups=1),
            ]
            channels = out_channels
        self.body = nn.Sequential(*layers)
        # bn1, the fully connected pre_fc1 and the fc1 BatchNorm, folded into one layer.
        self.head = nn.Linear(_LAST_CHANNELS * _LAST_SIDE * _LAST_SIDE, _FEATURES)
        # The graph's own input normalisation (its Sub and Mul nodes); load_sface reads them.
        self.pixel_mean = 127.5
        self.pixel_scale = 1 / 128

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """Raw features of (N, 3, 112, 112) RGB 0-255 crops, shape (N, 128)."""
        x = (crops - self.pixel_mean) * self.pixel_scale
        features: torch.Tensor = self.head(self.body(x).flatten(1))
        return features


def load_sface(weights: Path) -> SFaceNet:
    """The SFace network with the weights of the int8 ONNX file ``weights``, ready for inference.

    The module is in eval mode and its parameters do not require gradients, so
    that only the input gets gradients in an optimisation loop; call
    ``requires_grad_(True)`` to fine-tune it.

    Raises:
        InputError: ``weights`` is not the SFace 2021dec graph (a layer is missing
            or has another shape, stride or grouping).
    """
    import onnx

    graph = onnx.load(str(weights)).graph
    tensors = _constant_tensors(graph)
    nodes = {node.output[0]: node for node in graph.node}
    net = SFaceNet()
    try:
        with torch.no_grad():
            for module in net.modules():
                if isinstance(module, _ConvPrelu):
                    module.load(tensors, nodes)
            _load_head(net.head, tensors, nodes)
        net.pixel_mean = float(tensors["scalar_op1"].item())
        net.pixel_scale = float(tensors["scalar_op2"].item())
    except (KeyError, ValueError) as err:
        raise InputError(weights, f"not the SFace 2021dec int8 graph ({err})") from err
    logger.info("loaded SFace from %s", weights)
    return net.eval().requires_grad_(False)


class _ConvPrelu(nn.Module):
    """One Conv + BatchNorm + PReLU layer of the graph, the BatchNorm folded into the conv."""

    def __init__(
        self, onnx_name: str, in_channels: int, out_channels: int, *, kernel: int, stride: int, groups: int
    ) -> None:
        super().__init__()
        self.onnx_name = onnx_name
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, groups=groups
        )
        self.prelu = nn.PReLU(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.prelu(self.conv(x))
        return out

    def load(self, tensors: dict[str, Array], nodes: dict[str, Any]) -> None:
        """Copy this layer's dequantised kernel, BatchNorm and PReLU slopes out of the graph."""
        node = nodes[f"{self.onnx_name}_conv2d"]
        attributes = _attributes(node)
        expected = {
            "group": self.conv.groups,
            "strides": list(self.conv.stride),
            "kernel_shape": list(self.conv.kernel_size),
            "pads": list(self.conv.padding) * 2,
        }
        found = {key: attributes.get(key) for key in expected}
        if found != expected:
            raise ValueError(f"{self.onnx_name}: expected {expected}, found {found}")
        kernel = tensors[node.input[1]].astype(np.float64)
        if kernel.shape != tuple(self.conv.weight.shape):
            raise ValueError(
                f"{self.onnx_name}: kernel shape {kernel.shape}, expected {tuple(self.conv.weight.shape)}"
            )
        scale, shift = _batchnorm_affine(tensors, nodes, f"{self.onnx_name}_batchnorm")
        self.conv.weight.copy_(_tensor(kernel * scale[:, None, None, None]))
        cast(torch.Tensor, self.conv.bias).copy_(_tensor(shift))
        self.prelu.weight.copy_(_tensor(tensors[f"{self.onnx_name}_relu_gamma"].reshape(-1)))


def _constant_tensors(graph: Any) -> dict[str, Array]:
    """Every tensor of ``graph`` that does not depend on the input, by name.

    The initializers, plus the outputs of the ``DequantizeLinear`` and
    ``Reshape`` nodes that turn the int8 weights into float32 conv kernels.
    """
    from onnx import numpy_helper

    tensors: dict[str, Array] = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if not all(name in tensors for name in node.input):
            continue
        inputs = [tensors[name] for name in node.input]
        if node.op_type == "DequantizeLinear":
            tensors[node.output[0]] = _dequantize(*inputs, **_attributes(node))
        elif node.op_type == "Reshape":
            tensors[node.output[0]] = inputs[0].reshape(inputs[1])
    return tensors


def _dequantize(
    quantized: Array, scale: Array, zero_point: Array, *, axis: int = 1, block_size: int = 0
) -> NDArray[np.float32]:
    """``DequantizeLinear`` with one scale and zero point per block of ``block_size`` along ``axis``.

    Computed in float32 in the same order as onnxruntime, so the weights are
    bit-identical to the ones the reference runtime uses.
    """
    if block_size <= 0:
        raise ValueError(f"expected block-quantised weights, got block_size={block_size}")
    length = quantized.shape[axis]
    blocks = np.arange(length) // block_size
    scale_full = np.take(scale, blocks, axis=axis)
    zero_full = np.take(zero_point, blocks, axis=axis)
    centred = (quantized.astype(np.int32) - zero_full.astype(np.int32)).astype(np.float32)
    return np.asarray(centred * scale_full, dtype=np.float32)


def _attributes(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}


def _batchnorm_affine(tensors: dict[str, Array], nodes: dict[str, Any], name: str) -> tuple[Array, Array]:
    """The (scale, shift) in float64 that the inference BatchNorm ``name`` applies per channel.

    Its epsilon is the node's own (1e-3 in the conv layers, 2e-5 in bn1 and fc1).
    """
    gamma, beta, mean, var = (tensors[f"{name}_{part}"].astype(np.float64) for part in _BN_PARTS)
    epsilon = float(np.float32(_attributes(nodes[name])["epsilon"]))
    scale = gamma / np.sqrt(var + epsilon)
    return scale, beta - mean * scale


def _load_head(head: nn.Linear, tensors: dict[str, Array], nodes: dict[str, Any]) -> None:
    """Fold bn1 -> flatten -> pre_fc1 -> fc1 BatchNorm into the one linear layer ``head``.

    bn1 scales each of the 1024 channels, which the flatten spreads over 7x7
    consecutive inputs; fc1 scales each output. In float64, then rounded once.
    """
    weight = tensors["pre_fc1_weight_dequantized"].astype(np.float64)
    bias = tensors["pre_fc1_bias_dequantized"].astype(np.float64)
    if weight.shape != tuple(head.weight.shape):
        raise ValueError(f"pre_fc1: weight shape {weight.shape}, expected {tuple(head.weight.shape)}")
    in_scale, in_shift = _batchnorm_affine(tensors, nodes, "bn1")
    in_scale, in_shift = (np.repeat(values, _LAST_SIDE * _LAST_SIDE) for values in (in_scale, in_shift))
    out_scale, out_shift = _batchnorm_affine(tensors, nodes, "fc1")
    head.weight.copy_(_tensor(out_scale[:, None] * weight * in_scale[None, :]))
    cast(torch.Tensor, head.bias).copy_(_tensor(out_scale * (weight @ in_shift + bias) + out_shift))


def _tensor(values: Array) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
