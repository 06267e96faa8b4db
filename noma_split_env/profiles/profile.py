"""The DNN profile: per-layer workload and per-split data size of a real network.

A profile is what the physics needs to know about a DNN (docs/model.md section 3):

* ``layer_flops[l]``: workload ``w_{l+1}`` of layer ``l+1`` [FLOP], counted as
  2 x multiply-accumulates of convolutions, linear layers and attention matmuls
  (``torch.utils.flop_counter``); element-wise ops (ReLU, BN, pooling, adds) are
  left out, as in the published totals, and are below 1% of these networks.
* ``layer_output_elements[l]``: number of elements of layer ``l+1``'s output, the
  tensor uploaded when the network is split after it.
* ``input_elements``: number of elements of the input (uploaded at split 0).

Split point ``s`` in ``0..L``: layers ``1..s`` on the device, ``s+1..L`` on the edge.
This module needs NumPy only; profiling a new network needs torch
(:func:`noma_split_env.profiles.profile_module`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from noma_split_env.files import atomic_write

__all__ = ["MAX_ELEMENTS", "MAX_TOTAL_FLOPS", "DnnProfile"]

MAX_TOTAL_FLOPS = 1e16
"""Largest whole-network workload of a profile [FLOP] (ViT-B/16 is 3.5e10)."""
MAX_ELEMENTS = 1e10
"""Largest input or layer output of a profile [elements] (a 224x224 image is 1.5e5)."""


@dataclass(frozen=True, eq=False)
class DnnProfile:
    """Per-layer profile of one DNN, at every valid split point.

    Attributes:
        name: Identifier, e.g. ``"resnet18"``.
        input_shape: Shape of one input, without batch, e.g. ``(3, 224, 224)``.
        layer_names: Name of each of the ``L`` layers (blocks) in execution order.
        layer_flops: ``[L]`` workload of each layer [FLOP].
        layer_output_shapes: Output shape of each layer, without batch.
        description: Free text: source of the architecture, what a layer is.
    """

    name: str
    input_shape: tuple[int, ...]
    layer_names: tuple[str, ...]
    layer_flops: np.ndarray
    layer_output_shapes: tuple[tuple[int, ...], ...]
    description: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        flops = np.array(self.layer_flops, dtype=np.float64)  # a copy: frozen below
        object.__setattr__(self, "layer_flops", flops)
        object.__setattr__(self, "input_shape", tuple(int(v) for v in self.input_shape))
        object.__setattr__(self, "layer_names", tuple(str(v) for v in self.layer_names))
        shapes = tuple(tuple(int(v) for v in s) for s in self.layer_output_shapes)
        object.__setattr__(self, "layer_output_shapes", shapes)
        if not self.name:
            raise ValueError("DnnProfile.name must be a non-empty string")
        n = len(self.layer_names)
        if n < 1:
            raise ValueError(f"DnnProfile {self.name!r}: needs at least one layer, got 0")
        if flops.shape != (n,) or len(shapes) != n:
            raise ValueError(
                f"DnnProfile {self.name!r}: layer_names ({n}), layer_flops "
                f"({flops.shape}) and layer_output_shapes ({len(shapes)}) must have one "
                "entry per layer"
            )
        if not np.all(np.isfinite(flops)) or np.any(flops < 0):
            raise ValueError(
                f"DnnProfile {self.name!r}: layer_flops must be finite and >= 0, "
                f"got {flops.tolist()}"
            )
        if not 1.0 <= flops.sum() <= MAX_TOTAL_FLOPS:
            raise ValueError(
                f"DnnProfile {self.name!r}: layer_flops sum to {flops.sum():g} FLOP, allowed: "
                f"a total workload in [1, {MAX_TOTAL_FLOPS:g}] FLOP"
            )
        elements = [math.prod(self.input_shape), *(math.prod(s) for s in shapes)]
        if min(elements) < 1 or max(elements) > MAX_ELEMENTS:
            raise ValueError(
                f"DnnProfile {self.name!r}: the input and every layer output must have 1 to "
                f"{MAX_ELEMENTS:g} elements, got {elements}"
            )
        flops.setflags(write=False)

    # ------------------------------------------------------------------ sizes
    @property
    def num_layers(self) -> int:
        """``L``, the number of layers; split points are ``0..L``."""
        return len(self.layer_names)

    @property
    def input_elements(self) -> int:
        """Number of elements of one input."""
        return int(np.prod(self.input_shape))

    @property
    def layer_output_elements(self) -> np.ndarray:
        """``[L]`` number of elements of each layer's output."""
        return np.array([int(np.prod(s)) for s in self.layer_output_shapes], dtype=np.float64)

    @property
    def output_elements(self) -> int:
        """Number of elements of the network's final output (the inference result)."""
        return int(np.prod(self.layer_output_shapes[-1]))

    @property
    def total_flops(self) -> float:
        """Workload of the whole network [FLOP]."""
        return float(self.layer_flops.sum())

    @property
    def total_macs(self) -> float:
        """Multiply-accumulates of the whole network (= FLOP / 2), as published."""
        return self.total_flops / 2.0

    def device_flops(self) -> np.ndarray:
        """``[L+1]`` device workload ``W_dev(s) = sum_{l<=s} w_l`` for each split [FLOP]."""
        return np.concatenate(([0.0], np.cumsum(self.layer_flops)))

    def upload_elements(self) -> np.ndarray:
        """``[L+1]`` elements sent uplink at each split: input, layer outputs, 0 at ``s=L``."""
        return np.concatenate(
            ([float(self.input_elements)], self.layer_output_elements[:-1], [0.0])
        )

    def upload_bits(self, input_bits: float, activation_bits: float) -> np.ndarray:
        """``[L+1]`` bits ``D(s)`` sent uplink at each split point [bit].

        ``D(0)`` = input elements x ``input_bits``; ``D(s)`` = output elements of layer
        ``s`` x ``activation_bits``; ``D(L) = 0`` (docs/model.md section 3).
        """
        d = self.upload_elements()
        d[0] *= input_bits
        d[1:] *= activation_bits
        return d

    # ------------------------------------------------------------------ I/O
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` inverts it exactly."""
        return {
            "name": self.name,
            "description": self.description,
            "input_shape": list(self.input_shape),
            "layers": [
                {"name": n, "flops": float(f), "output_shape": list(s)}
                for n, f, s in zip(
                    self.layer_names, self.layer_flops, self.layer_output_shapes, strict=True
                )
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DnnProfile:
        """Build a profile from :meth:`to_dict` output."""
        layers = data["layers"]
        return cls(
            name=data["name"],
            input_shape=tuple(data["input_shape"]),
            layer_names=tuple(layer["name"] for layer in layers),
            layer_flops=np.array([layer["flops"] for layer in layers], dtype=np.float64),
            layer_output_shapes=tuple(tuple(layer["output_shape"]) for layer in layers),
            description=data.get("description", ""),
        )

    def save(self, path: str | Path) -> None:
        """Write the profile as JSON (atomically: complete or not at all)."""
        with atomic_write(path) as f:
            f.write(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> DnnProfile:
        """Read a profile written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    def __repr__(self) -> str:
        return (
            f"DnnProfile({self.name!r}, L={self.num_layers}, "
            f"{self.total_macs / 1e9:.3g} GMAC, input {self.input_shape})"
        )
