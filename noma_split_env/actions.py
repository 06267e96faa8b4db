"""The native action: a normalized Dict space and its decoding to an :class:`Allocation`.

========================  ===============================  ===========================
key                       space                            decoded to
========================  ===============================  ===========================
``split``                 ``MultiDiscrete([L_max+1]*K)``   ``s_k = round(a_k L_k / L_max)``
``ul_subchannel``         ``MultiDiscrete([N]*K)``         uplink subchannel, as is
``dl_subchannel``         ``MultiDiscrete([N]*K)``         downlink subchannel, as is
``ul_power``              ``Box(0, 1, (K,))``              ``p_k = a_k P_user_max`` [W]
``dl_power``              ``Box(0, 1, (K,))``              ``q_k = P_bs a_k / max(1, sum a)``
``edge_share`` (opt.)     ``Box(0, 1, (K,))``              ``a_k / max(1, sum a)``
========================  ===============================  ===========================

``L_max`` is the largest number of layers in the scenario's model mix; the split
mapping is the identity for a user whose model has ``L_max`` layers and onto ``0..L_k``
otherwise. Downlink power and edge-share fractions are counted only over the users
that offload (``s_k < L_k``); the others get 0, and fractions whose sum exceeds 1 are
scaled down. ``edge_share`` is present only when ``scenario.allocate_edge_share``.
The decoding is deterministic and never repairs an invalid action: a wrong key,
shape, dtype, a NaN or an out-of-range entry raises ``ValueError`` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from numba import njit

from noma_split_env.scenario import Scenario
from noma_split_env.slot import Allocation, Slot

__all__ = ["ActionDecoder"]


class ActionDecoder:
    """The scenario's native ``Dict`` action space and its decoding."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        k, n = scenario.num_users, scenario.num_subchannels
        self.max_layers = scenario.model_table.max_layers
        entries: dict[str, spaces.Space[Any]] = {
            "split": spaces.MultiDiscrete(np.full(k, self.max_layers + 1)),
            "ul_subchannel": spaces.MultiDiscrete(np.full(k, n)),
            "dl_subchannel": spaces.MultiDiscrete(np.full(k, n)),
            "ul_power": spaces.Box(0.0, 1.0, (k,), dtype=np.float32),
            "dl_power": spaces.Box(0.0, 1.0, (k,), dtype=np.float32),
        }
        if scenario.allocate_edge_share:
            entries["edge_share"] = spaces.Box(0.0, 1.0, (k,), dtype=np.float32)
        self.space = spaces.Dict(entries)
        self._keys = frozenset(entries)
        self._discrete_high = {
            "split": self.max_layers,
            "ul_subchannel": n - 1,
            "dl_subchannel": n - 1,
        }
        self._allowed = {
            key: f"{k} integers in 0..{high}" for key, high in self._discrete_high.items()
        } | {key: f"{k} numbers in [0, 1]" for key in ("ul_power", "dl_power", "edge_share")}

    def decode(self, action: Mapping[str, Any], slot: Slot) -> Allocation:
        """The allocation that ``action`` encodes on ``slot``; ``ValueError`` if invalid."""
        if not isinstance(action, Mapping) or action.keys() != self._keys:
            got = sorted(action.keys()) if isinstance(action, Mapping) else type(action).__name__
            raise ValueError(
                f"action: got keys {got}, allowed: a dict with exactly the keys "
                f"{sorted(self._keys)}"
            )
        sc = self.scenario
        arrays = [self._typed(key, action[key]) for key in _KEYS]
        edge = self._typed("edge_share", action["edge_share"]) if sc.allocate_edge_share else _EMPTY
        split, ul_power, dl_power, edge_share, bad = _decode_kernel(
            *arrays,
            edge,
            slot.num_layers,
            self.max_layers,
            sc.num_subchannels,
            sc.user_max_power_w,
            sc.bs_max_power_w,
        )
        if bad >= 0:
            key = (*_KEYS, "edge_share")[bad]
            raise ValueError(f"action[{key!r}]: got {action[key]!r}, allowed: {self._allowed[key]}")
        return Allocation(
            split,
            arrays[1],
            arrays[2],
            ul_power,
            dl_power,
            edge_share if sc.allocate_edge_share else None,
        )

    def encode(self, allocation: Allocation, slot: Slot) -> dict[str, np.ndarray]:
        """The native action that decodes to ``allocation`` on ``slot`` (the inverse of
        :meth:`decode`; used to imitate a solver).

        ``split`` gets the smallest native index that maps to ``s_k``,
        ``ceil((2 s_k - 1) L_max / (2 L_k))`` (at least 0), so it decodes to ``s_k``
        exactly. The fractions are ``p_k / P_user_max``, ``q_k / P_bs_max`` and the
        shares themselves (float32, as the space holds them); they decode to the
        allocation's powers and shares up to float32 rounding, because a valid
        allocation's downlink powers and shares sum to at most their budgets. Users
        that compute locally get fractions 0 for the downlink and the share (the
        decoding ignores them). ``ValueError`` if ``allocation`` is invalid on ``slot``.
        """
        allocation.check(slot)
        sc, top = self.scenario, self.max_layers
        layers = slot.num_layers
        # (a task with no layer left to choose, L_k = 0, has the one split 0)
        split = np.maximum(0, -((-(2 * allocation.split - 1) * top) // np.maximum(2 * layers, 1)))
        offload = allocation.split < layers
        native = {
            "split": split.astype(np.int64),
            "ul_subchannel": np.asarray(allocation.ul_subchannel, dtype=np.int64),
            "dl_subchannel": np.asarray(allocation.dl_subchannel, dtype=np.int64),
            "ul_power": _fraction(allocation.ul_power / sc.user_max_power_w),
            "dl_power": _fraction(np.where(offload, allocation.dl_power, 0.0) / sc.bs_max_power_w),
        }
        if sc.allocate_edge_share:
            share = allocation.edge_share
            if share is None:  # equal shares among the offloading users
                share = offload / max(1, int(offload.sum()))
            native["edge_share"] = _fraction(np.where(offload, share, 0.0))
        return native

    def decode_batch(
        self, action: Mapping[str, Any], num_layers: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """The decoding of ``B`` actions at once (a batched ``Dict``, every entry
        ``[B, K]``) for cells whose tasks have ``num_layers`` ``[B, K]`` layers:
        ``(split, ul_subchannel, dl_subchannel, ul_power, dl_power, edge_share)``,
        each ``[B, K]`` (``edge_share`` ``[B, 0]`` without shares), exactly what
        :meth:`decode` gives cell by cell. ``ValueError`` naming the key and the cell
        if an action is invalid."""
        if not isinstance(action, Mapping) or action.keys() != self._keys:
            got = sorted(action.keys()) if isinstance(action, Mapping) else type(action).__name__
            raise ValueError(
                f"actions: got keys {got}, allowed: a dict with exactly the keys "
                f"{sorted(self._keys)}"
            )
        sc = self.scenario
        cells = num_layers.shape[0]
        arrays = [self._typed(key, action[key], cells) for key in _KEYS]
        edge = (
            self._typed("edge_share", action["edge_share"], cells)
            if sc.allocate_edge_share
            else np.zeros((cells, 0))
        )
        split, ul_power, dl_power, edge_share, bad_cell, bad = _decode_batch_kernel(
            *arrays, edge, num_layers, self.max_layers, sc.num_subchannels,
            sc.user_max_power_w, sc.bs_max_power_w,
        )  # fmt: skip
        if bad >= 0:
            key = (*_KEYS, "edge_share")[bad]
            got = np.asarray(action[key][bad_cell]).tolist()
            raise ValueError(
                f"actions[{key!r}][{bad_cell}]: got {got}, allowed: {self._allowed[key]}"
            )
        return split, arrays[1], arrays[2], ul_power, dl_power, edge_share

    def _typed(self, key: str, value: Any, cells: int | None = None) -> np.ndarray:
        """``value`` as int64 (discrete keys) or float64 (fractions), shape and kind checked."""
        arr = np.asarray(value)
        discrete = key in self._discrete_high
        k = self.scenario.num_users
        shape = (k,) if cells is None else (cells, k)
        if arr.shape != shape or arr.dtype.kind not in ("iu" if discrete else "fiu"):
            if cells is None:
                raise ValueError(f"action[{key!r}]: got {value!r}, allowed: {self._allowed[key]}")
            raise ValueError(
                f"actions[{key!r}]: got shape {arr.shape} of dtype {arr.dtype}, allowed: "
                f"{cells} rows of {self._allowed[key]}"
            )
        return np.ascontiguousarray(arr, dtype=np.int64 if discrete else np.float64)


def _fraction(values: np.ndarray) -> np.ndarray:
    """``values`` as float32 fractions in ``[0, 1]`` (a budget's full share may round
    a hair above 1)."""
    return np.clip(values, 0.0, 1.0).astype(np.float32)


_KEYS = ("split", "ul_subchannel", "dl_subchannel", "ul_power", "dl_power")
_EMPTY = np.zeros(0)


@njit(cache=True)
def _decode_kernel(
    split_action: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    ul_fraction: np.ndarray,
    dl_fraction: np.ndarray,
    edge_fraction: np.ndarray,
    num_layers: np.ndarray,
    max_layers: int,
    num_subchannels: int,
    p_max: float,
    q_max: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """The decoding of the module docstring; the last output is the index of the first
    out-of-range entry in ``(*_KEYS, "edge_share")`` (NaN is out of range), or -1."""
    k_users = split_action.shape[0]
    checks = (
        (split_action, max_layers),
        (ul_sub, num_subchannels - 1),
        (dl_sub, num_subchannels - 1),
    )
    for i, (values, high) in enumerate(checks):
        for k in range(k_users):
            if values[k] < 0 or values[k] > high:
                return split_action, ul_fraction, dl_fraction, edge_fraction, i
    fractions = (ul_fraction, dl_fraction, edge_fraction)
    for i, values in enumerate(fractions):
        for v in values:
            if not (0.0 <= v <= 1.0):
                return split_action, ul_fraction, dl_fraction, edge_fraction, 3 + i
    split = (2 * split_action * num_layers + max_layers) // (2 * max_layers)
    active = split < num_layers
    dl = np.where(active, dl_fraction, 0.0)
    q = q_max * dl / max(1.0, dl.sum())
    share = edge_fraction.copy()
    if share.shape[0] == k_users:
        share = np.where(active, share, 0.0)
        share = share / max(1.0, share.sum())
    return split, p_max * ul_fraction, q, share, -1


@njit(cache=True)
def _decode_batch_kernel(
    split_action: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    ul_fraction: np.ndarray,
    dl_fraction: np.ndarray,
    edge_fraction: np.ndarray,
    num_layers: np.ndarray,
    max_layers: int,
    num_subchannels: int,
    p_max: float,
    q_max: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """:func:`_decode_kernel` for each row ``b`` of ``[B, K]`` arrays; the last two
    outputs are the first invalid row and key index, or ``-1, -1``."""
    cells, k_users = split_action.shape
    split = np.empty((cells, k_users), dtype=np.int64)
    p = np.empty((cells, k_users))
    q = np.empty((cells, k_users))
    share = np.empty(edge_fraction.shape)
    for b in range(cells):
        sb, pb, qb, eb, bad = _decode_kernel(
            split_action[b], ul_sub[b], dl_sub[b], ul_fraction[b], dl_fraction[b],
            edge_fraction[b], num_layers[b], max_layers, num_subchannels, p_max, q_max,
        )  # fmt: skip
        if bad >= 0:
            return split, p, q, share, b, bad
        split[b] = sb
        p[b] = pb
        q[b] = qb
        share[b] = eb
    return split, p, q, share, -1, -1
