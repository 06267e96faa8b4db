"""Build the shipped DNN profiles from the plain-torch architectures.

Usage::

    python -m noma_split_env.profiles.build [--out DIR]

Profiles every network of :data:`noma_split_env.profiles.architectures.ARCHITECTURES`
with :func:`noma_split_env.profiles.profiler.profile_module`, writes
``<DIR>/<name>.json`` (default: the package's ``profiles/data/``) and prints a summary
table. Needs torch; no weights or data are downloaded.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from noma_split_env.profiles import DATA_DIR
from noma_split_env.profiles.architectures import ARCHITECTURES, INPUT_SHAPES
from noma_split_env.profiles.profile import DnnProfile
from noma_split_env.profiles.profiler import profile_module

__all__ = ["build_profile", "main"]

FP32_BITS = 32
"""Bits per element of a float32 input, for the table's input size."""

_BLOCK_DESCRIPTIONS = {
    "vgg16": "VGG16 (Simonyan & Zisserman 2015, config D; torchvision layout). Blocks: "
    "conv (+ReLU), max-pool, fc (+ReLU, dropout; flatten in fc6).",
    "alexnet": "AlexNet, torchvision single-tower variant (Krizhevsky 2014). Blocks: conv "
    "(+ReLU), max-pool, fc (+dropout, ReLU; adaptive pool and flatten in fc6).",
    "resnet18": "ResNet-18 (He et al. 2016; torchvision layout). Blocks: stem (conv7x7, BN, "
    "ReLU), max-pool, 8 basic residual blocks, head (global avg-pool, fc).",
    "resnet50": "ResNet-50 v1.5 (He et al. 2016; torchvision layout). Blocks: stem, max-pool, "
    "16 bottleneck residual blocks, head (global avg-pool, fc).",
    "mobilenet_v2": "MobileNetV2 width 1.0 (Sandler et al. 2018; torchvision layout). Blocks: "
    "stem, 17 inverted-residual blocks, 1x1 conv to 1280, head (avg-pool, dropout, fc).",
    "vit_b_16": "ViT-B/16 at 224x224 (Dosovitskiy et al. 2021; torchvision layout). Blocks: "
    "patch embedding (+class token, position embedding), 12 encoder blocks, head "
    "(LayerNorm, class token, fc).",
}

_COMMON_DESCRIPTION = (
    " FLOP = 2 x MACs of conv/linear/attention matmuls (torch.utils.flop_counter), "
    "batch 1, input 3x224x224; built by noma_split_env.profiles.build."
)


def build_profile(name: str) -> DnnProfile:
    """Profile the named architecture (a key of ``ARCHITECTURES``)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"build: unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}")
    description = _BLOCK_DESCRIPTIONS.get(name, name) + _COMMON_DESCRIPTION
    return profile_module(ARCHITECTURES[name](), INPUT_SHAPES[name], name, description=description)


def _table_row(profile: DnnProfile) -> str:
    input_mb = profile.input_elements * FP32_BITS / 8 / 1e6
    return (
        f"{profile.name:<14}{profile.num_layers:>4}{profile.total_macs / 1e9:>10.3f}"
        f"{input_mb:>14.3f}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Profile every architecture, write the JSON files and print a summary table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DATA_DIR, help=f"output directory (default: {DATA_DIR})"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    print(f"{'name':<14}{'L':>4}{'GMACs':>10}{'input MB fp32':>14}")
    for name in ARCHITECTURES:
        profile = build_profile(name)
        profile.save(args.out / f"{name}.json")
        print(_table_row(profile))
    print(f"wrote {len(ARCHITECTURES)} profiles to {args.out}")


if __name__ == "__main__":
    main()
