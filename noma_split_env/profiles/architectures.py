"""Plain-torch definitions of the DNNs shipped as profiles, cut into split-point blocks.

Each builder returns a top-level :class:`torch.nn.Sequential` whose named children are
the valid split points of the network (docs/model.md section 3): the network may be cut after
any child, and the activation between two children is a single tensor.

* Chain models (VGG16, AlexNet): one block per layer; a convolution carries its ReLU,
  a fully connected layer carries its ReLU and dropout, and the first fully connected
  block carries the adaptive average pooling and the flatten.
* Residual models (ResNet-18/50, MobileNetV2): one block per stem, pooling stage,
  residual (or inverted-residual) block and head; a residual connection never
  crosses a split point.
* ViT-B/16: the patch embedding (with class token and position embedding), each of
  the 12 encoder blocks, then the head (final LayerNorm, class token, linear).

Weights are random (no download); only the layer configuration matters for the
profile. All models take a ``(3, 224, 224)`` image and output 1000 class logits.

Sources (architectures; layer configurations follow torchvision 0.19
``torchvision/models/{vgg,alexnet,resnet,mobilenetv2,vision_transformer}.py``, whose
published multiply-accumulate totals at 224x224 the profiles reproduce):

* K. Simonyan and A. Zisserman, "Very deep convolutional networks for large-scale
  image recognition," ICLR 2015 (VGG16, configuration D).
* A. Krizhevsky, "One weird trick for parallelizing convolutional neural networks,"
  arXiv:1404.5997, 2014 (the single-tower AlexNet variant used by torchvision:
  64-192-384-256-256 channels).
* K. He, X. Zhang, S. Ren and J. Sun, "Deep residual learning for image
  recognition," CVPR 2016 (ResNet-18, ResNet-50; torchvision puts the bottleneck
  stride on the 3x3 convolution, "ResNet v1.5").
* M. Sandler, A. Howard, M. Zhu, A. Zhmoginov and L.-C. Chen, "MobileNetV2:
  Inverted residuals and linear bottlenecks," CVPR 2018 (width 1.0).
* A. Dosovitskiy et al., "An image is worth 16x16 words: Transformers for image
  recognition at scale," ICLR 2021 (ViT-B/16).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn

__all__ = [
    "ARCHITECTURES",
    "INPUT_SHAPES",
    "alexnet",
    "mobilenet_v2",
    "resnet18",
    "resnet50",
    "vgg16",
    "vit_b_16",
]

NUM_CLASSES = 1000
"""Output classes of every model (ImageNet-1k)."""

IMAGE_SHAPE = (3, 224, 224)
"""Input ``(channels, height, width)`` of every model."""


def _seq(blocks: list[tuple[str, nn.Module]]) -> nn.Sequential:
    """A Sequential of named blocks (names must be unique)."""
    names = [n for n, _ in blocks]
    if len(set(names)) != len(names):
        raise ValueError(f"architectures: duplicate block names in {names}")
    return nn.Sequential(OrderedDict(blocks))


# ---------------------------------------------------------------------- chain models
def _conv_relu(
    c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding), nn.ReLU(inplace=True)
    )


def _fc(
    n_in: int, n_out: int, pre: tuple[nn.Module, ...] = (), post: tuple[nn.Module, ...] = ()
) -> nn.Sequential:
    """A fully connected block: ``pre`` ops, linear, ``post`` ops (torchvision order)."""
    return nn.Sequential(*pre, nn.Linear(n_in, n_out), *post)


# VGG16 configuration D: output channels of the 3x3 convolutions of each stage; every
# stage ends with a 2x2 max-pool.
_VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


def vgg16() -> nn.Sequential:
    """VGG16 (configuration D): 13 conv, 5 pool, 3 fc blocks; 15.5 GMAC."""
    blocks: list[tuple[str, nn.Module]] = []
    c_in = 3
    for stage, channels in enumerate(_VGG16_STAGES, start=1):
        for i, c_out in enumerate(channels, start=1):
            blocks.append((f"conv{stage}_{i}", _conv_relu(c_in, c_out, 3, padding=1)))
            c_in = c_out
        blocks.append((f"pool{stage}", nn.MaxPool2d(2, 2)))
    # torchvision applies AdaptiveAvgPool2d(7) here; at 224x224 the map is already 7x7
    # (identity, no MACs); it goes into fc6 with the flatten.
    pre = (nn.AdaptiveAvgPool2d((7, 7)), nn.Flatten(1))
    post = (nn.ReLU(inplace=True), nn.Dropout(p=0.5))
    blocks.append(("fc6", _fc(512 * 7 * 7, 4096, pre=pre, post=post)))
    blocks.append(("fc7", _fc(4096, 4096, post=(nn.ReLU(inplace=True), nn.Dropout(p=0.5)))))
    blocks.append(("fc8", _fc(4096, NUM_CLASSES)))
    return _seq(blocks)


def alexnet() -> nn.Sequential:
    """AlexNet, torchvision single-tower variant: 5 conv, 3 pool, 3 fc blocks; 0.71 GMAC."""
    blocks: list[tuple[str, nn.Module]] = [
        ("conv1", _conv_relu(3, 64, 11, stride=4, padding=2)),
        ("pool1", nn.MaxPool2d(3, 2)),
        ("conv2", _conv_relu(64, 192, 5, padding=2)),
        ("pool2", nn.MaxPool2d(3, 2)),
        ("conv3", _conv_relu(192, 384, 3, padding=1)),
        ("conv4", _conv_relu(384, 256, 3, padding=1)),
        ("conv5", _conv_relu(256, 256, 3, padding=1)),
        ("pool5", nn.MaxPool2d(3, 2)),
    ]
    # torchvision classifier order: Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear.
    pre = (nn.AdaptiveAvgPool2d((6, 6)), nn.Flatten(1), nn.Dropout(p=0.5))
    blocks.append(("fc6", _fc(256 * 6 * 6, 4096, pre=pre, post=(nn.ReLU(inplace=True),))))
    fc7 = _fc(4096, 4096, pre=(nn.Dropout(p=0.5),), post=(nn.ReLU(inplace=True),))
    blocks.append(("fc7", fc7))
    blocks.append(("fc8", _fc(4096, NUM_CLASSES)))
    return _seq(blocks)


# ---------------------------------------------------------------------- ResNets
def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    """Bias-free convolution ("same" padding) followed by batch norm."""
    return [
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
    ]


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convolutions plus identity/projection shortcut."""

    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.body = nn.Sequential(
            *_conv_bn(c_in, width, 3, stride), nn.ReLU(inplace=True), *_conv_bn(width, c_out, 3)
        )
        self.downsample = _shortcut(c_in, c_out, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.downsample(x))


class Bottleneck(nn.Module):
    """ResNet bottleneck block (v1.5: stride on the 3x3 convolution), expansion 4."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.body = nn.Sequential(
            *_conv_bn(c_in, width, 1),
            nn.ReLU(inplace=True),
            *_conv_bn(width, width, 3, stride),
            nn.ReLU(inplace=True),
            *_conv_bn(width, c_out, 1),
        )
        self.downsample = _shortcut(c_in, c_out, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.downsample(x))


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Identity, or a strided 1x1 projection with batch norm when the shape changes."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(*_conv_bn(c_in, c_out, 1, stride))


def _resnet(block: type[BasicBlock | Bottleneck], depths: tuple[int, ...]) -> nn.Sequential:
    blocks: list[tuple[str, nn.Module]] = [
        ("stem", nn.Sequential(*_conv_bn(3, 64, 7, stride=2), nn.ReLU(inplace=True))),
        ("pool", nn.MaxPool2d(3, stride=2, padding=1)),
    ]
    c_in = 64
    for stage, depth in enumerate(depths, start=1):
        width = 64 * 2 ** (stage - 1)
        for i in range(depth):
            stride = 2 if (stage > 1 and i == 0) else 1
            blocks.append((f"layer{stage}_{i}", block(c_in, width, stride)))
            c_in = width * block.expansion
    head = nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(1), nn.Linear(c_in, NUM_CLASSES))
    blocks.append(("head", head))
    return _seq(blocks)


def resnet18() -> nn.Sequential:
    """ResNet-18: stem, max-pool, 8 basic blocks, head; 1.82 GMAC."""
    return _resnet(BasicBlock, (2, 2, 2, 2))


def resnet50() -> nn.Sequential:
    """ResNet-50 (v1.5): stem, max-pool, 16 bottleneck blocks, head; 4.1 GMAC."""
    return _resnet(Bottleneck, (3, 4, 6, 3))


# ---------------------------------------------------------------------- MobileNetV2
def _conv_bn_relu6(
    c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1
) -> list[nn.Module]:
    return [
        nn.Conv2d(
            c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False
        ),
        nn.BatchNorm2d(c_out),
        nn.ReLU6(inplace=True),
    ]


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise, 1x1 linear projection (+ residual)."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = c_in * expand_ratio
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers += _conv_bn_relu6(c_in, hidden, 1)
        layers += _conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden)
        layers += [nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)
        self.use_residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return x + y if self.use_residual else y


# (expansion t, output channels c, repeats n, first stride s), Sandler et al. Table 2.
_MOBILENET_V2_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def mobilenet_v2() -> nn.Sequential:
    """MobileNetV2 (width 1.0): stem, 17 inverted-residual blocks, 1x1 conv, head; 0.30 GMAC."""
    blocks: list[tuple[str, nn.Module]] = [
        ("stem", nn.Sequential(*_conv_bn_relu6(3, 32, 3, stride=2)))
    ]
    c_in = 32
    index = 1
    for t, c, n, s in _MOBILENET_V2_SETTING:
        for i in range(n):
            blocks.append((f"block{index}", InvertedResidual(c_in, c, s if i == 0 else 1, t)))
            c_in = c
            index += 1
    blocks.append(("conv_last", nn.Sequential(*_conv_bn_relu6(c_in, 1280, 1))))
    head = nn.Sequential(
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(1),
        nn.Dropout(p=0.2),
        nn.Linear(1280, NUM_CLASSES),
    )
    blocks.append(("head", head))
    return _seq(blocks)


# ---------------------------------------------------------------------- ViT-B/16
class PatchEmbedding(nn.Module):
    """Image to tokens: 16x16 patch convolution, class token, learned position embedding.

    Output ``[batch, 1 + (H/16)(W/16), dim]``.
    """

    def __init__(self, image_size: int, patch_size: int, dim: int) -> None:
        super().__init__()
        num_patches = (image_size // patch_size) ** 2
        self.proj = nn.Conv2d(3, dim, patch_size, stride=patch_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, num_patches + 1, dim))
        self.dropout = nn.Dropout(p=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.proj(x).flatten(2).transpose(1, 2)  # [B, N, dim]
        cls = self.class_token.expand(tokens.shape[0], -1, -1)
        return self.dropout(torch.cat([cls, tokens], dim=1) + self.pos_embedding)


class SelfAttention(nn.Module):
    """Multi-head self-attention with the matmuls written out.

    Same computation as ``nn.MultiheadAttention`` (fused in-projection, output
    projection) but without its inference fast path, whose fused kernel
    ``torch.utils.flop_counter`` does not count.
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"SelfAttention: dim={dim} must be divisible by heads={num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.in_proj = nn.Linear(dim, 3 * dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.in_proj(x).reshape(b, n, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [B, heads, N, head_dim]
        scores = (q @ k.transpose(-2, -1)) * self.head_dim**-0.5
        out = scores.softmax(dim=-1) @ v  # [B, heads, N, head_dim]
        return self.out_proj(out.transpose(1, 2).reshape(b, n, d))


class EncoderBlock(nn.Module):
    """Pre-norm transformer encoder block: x + MSA(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = SelfAttention(dim, num_heads)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attention(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class ClassTokenHead(nn.Module):
    """Final LayerNorm, take the class token, linear classifier."""

    def __init__(self, dim: int, num_classes: int) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.ln(x)[:, 0])


def vit_b_16() -> nn.Sequential:
    """ViT-B/16 at 224x224: patch embedding, 12 encoder blocks, head; 17.56 GMAC."""
    dim, heads, mlp_dim, depth = 768, 12, 3072, 12
    blocks: list[tuple[str, nn.Module]] = [("patch_embed", PatchEmbedding(224, 16, dim))]
    blocks += [(f"encoder{i}", EncoderBlock(dim, heads, mlp_dim)) for i in range(depth)]
    blocks.append(("head", ClassTokenHead(dim, NUM_CLASSES)))
    return _seq(blocks)


# ---------------------------------------------------------------------- registry
ARCHITECTURES: dict[str, Callable[[], nn.Sequential]] = {
    "vgg16": vgg16,
    "alexnet": alexnet,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "vit_b_16": vit_b_16,
}
"""Builder of each shipped architecture, by profile name."""

INPUT_SHAPES: dict[str, tuple[int, ...]] = dict.fromkeys(ARCHITECTURES, IMAGE_SHAPE)
"""Input shape (without batch) of each architecture."""
