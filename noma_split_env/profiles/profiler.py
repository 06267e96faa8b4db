"""Profile a torch module into a :class:`DnnProfile`: FLOPs and output shape per block.

The split points of a network are the boundaries between its *blocks*: the top-level
children of an :class:`torch.nn.Sequential`, or an explicit list of ``(name, module)``
pairs run one after the other. Each block is run once, batch 1, on a zero tensor
(then on the previous block's output), under ``torch.no_grad()`` and
:class:`torch.utils.flop_counter.FlopCounterMode`, which counts 2 FLOP per
multiply-accumulate of convolutions, ``mm``/``bmm``/``addmm`` and scaled-dot-product
attention, and nothing for element-wise ops (bias adds, activations, normalization,
pooling, residual adds), as the published MAC totals do.

>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Flatten(), nn.Linear(12, 4))
>>> p = profile_module(net, (3, 4), "tiny")
>>> p.layer_flops.tolist(), p.layer_output_shapes
([0.0, 96.0], ((12,), (4,)))

This module needs torch; the rest of :mod:`noma_split_env.profiles` does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from noma_split_env.profiles.profile import DnnProfile

__all__ = ["profile_module"]


def profile_module(
    module: nn.Module,
    input_shape: Sequence[int],
    name: str,
    *,
    blocks: Sequence[tuple[str, nn.Module]] | None = None,
    description: str = "",
) -> DnnProfile:
    """Profile ``module`` at every split point between its blocks.

    Args:
        module: The network. Put in eval mode (dropout off, batch norm uses running
            statistics). Its blocks are its top-level children if it is an
            :class:`torch.nn.Sequential`; any other module needs ``blocks``.
        input_shape: Shape of one input, without batch, e.g. ``(3, 224, 224)``;
            positive integers.
        name: Profile name, e.g. ``"resnet18"``.
        blocks: Explicit ``(name, module)`` pairs run in sequence, the output of one
            being the input of the next; overrides the children of ``module``.
        description: Free text stored in the profile.

    Returns:
        A :class:`DnnProfile` with one layer per block: FLOPs [FLOP] (2 x MACs) and
        output shape without the batch dimension.

    Raises:
        ValueError: ``input_shape`` is not positive integers, ``module`` is not a
            Sequential and ``blocks`` is not given, a block list is empty or has
            duplicate names, or a block returns something other than a tensor.
    """
    shape = _validate_input_shape(input_shape)
    named_blocks = _split_blocks(module, blocks)
    module.eval()
    for _, block in named_blocks:
        block.eval()

    names: list[str] = []
    flops: list[float] = []
    shapes: list[tuple[int, ...]] = []
    x = torch.zeros((1, *shape))
    with torch.no_grad():
        for block_name, block in named_blocks:
            x, block_flops = _run_counted(block, x)
            if not isinstance(x, torch.Tensor):
                raise ValueError(
                    f"profile_module: block {block_name!r} of {name!r} returned "
                    f"{type(x).__name__}; a block must return a single tensor (split the "
                    "network only where one tensor flows between blocks)"
                )
            names.append(block_name)
            flops.append(float(block_flops))
            shapes.append(tuple(int(v) for v in x.shape[1:]))

    return DnnProfile(
        name=name,
        input_shape=shape,
        layer_names=tuple(names),
        layer_flops=np.array(flops, dtype=np.float64),
        layer_output_shapes=tuple(shapes),
        description=description,
    )


def _run_counted(block: nn.Module, x: torch.Tensor) -> tuple[object, int]:
    """Run ``block`` on ``x``; return its output and the FLOPs it performed."""
    counter = FlopCounterMode(display=False)
    with counter:
        y = block(x)
    return y, counter.get_total_flops()


def _validate_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if (
        not shape
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in shape)
        or any(v <= 0 for v in shape)
    ):
        raise ValueError(
            f"profile_module: input_shape={input_shape!r} is invalid; allowed: a non-empty "
            "sequence of positive integers without the batch dimension, e.g. (3, 224, 224)"
        )
    return tuple(int(v) for v in shape)


def _split_blocks(
    module: nn.Module, blocks: Sequence[tuple[str, nn.Module]] | None
) -> list[tuple[str, nn.Module]]:
    """The ``(name, block)`` pairs at whose boundaries the network can be split."""
    if blocks is None:
        if not isinstance(module, nn.Sequential):
            raise ValueError(
                f"profile_module: module is a {type(module).__name__}, not an nn.Sequential, "
                "and no blocks were given; accepted: an nn.Sequential whose top-level "
                "children are the blocks, or blocks=[(name, module), ...] run in sequence"
            )
        named = list(module.named_children())
    else:
        named = list(blocks)
        if not all(
            isinstance(b, tuple)
            and len(b) == 2
            and isinstance(b[0], str)
            and isinstance(b[1], nn.Module)
            for b in named
        ):
            raise ValueError(
                "profile_module: blocks must be a sequence of (name: str, module: nn.Module) "
                f"pairs, got {[type(b).__name__ for b in named]}"
            )
    if not named:
        raise ValueError("profile_module: the network has no blocks; need at least one")
    block_names = [n for n, _ in named]
    if len(set(block_names)) != len(block_names):
        raise ValueError(f"profile_module: block names must be unique, got {block_names}")
    return named
