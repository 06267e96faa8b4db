"""A slot (one channel and task realization) and an allocation (one decision).

:class:`Slot` holds what the controller sees in a time slot: the channel gains of
every user on every subchannel in both directions, the user distances and the DNN
task of each user, with the per-split tables the cost needs. :class:`Allocation` is
the decision, in physical units (docs/model.md section 2); :meth:`Allocation.check` rejects one
outside its domain with a ``ValueError`` that names the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit

from noma_split_env.channel import distance_for_pathloss_db
from noma_split_env.profiles import DnnProfile
from noma_split_env.scenario import Scenario
from noma_split_env.units import linear_to_db

__all__ = ["Allocation", "Slot", "task_arrays"]


@dataclass(frozen=True, eq=False)
class Slot:
    """One time slot's realization. Build it with :meth:`from_arrays`.

    Attributes:
        scenario: The scenario the slot belongs to.
        ul_gain: ``[K, N]`` linear uplink power gain ``beta |h|^2`` of user k on
            subchannel n.
        dl_gain: ``[K, N]`` linear downlink power gain.
        distance_m: ``[K]`` user-BS distance [m].
        model_index: ``[K]`` index of each user's DNN in ``scenario.models``.
        num_layers: ``[K]`` ``L_k``.
        device_flops: ``[K, L_max+1]`` ``W_dev(s)`` [FLOP] per split.
        upload_bits: ``[K, L_max+1]`` ``D(s)`` [bit] per split.
        edge_flops: ``[K, L_max+1]`` ``W_edge(s)`` [FLOP] per split, the edge's part:
            ``W_tot - W_dev(s)`` for a fresh task, 0 at ``s = L_k``.
        result_bits: ``[K]`` ``D_out`` [bit].
        t_ref: ``[K]`` all-local latency ``T_ref,k`` [s].
        e_ref: ``[K]`` all-local energy ``E_ref,k`` [J].

    The per-split tables describe the work left to do: for a fresh task (every slot of
    ``NomaSplit-v0``) the whole network; the queued env (:mod:`noma_split_env.queue`)
    also hands solvers slots whose tables hold what is left of a task in progress.
    """

    scenario: Scenario
    ul_gain: np.ndarray
    dl_gain: np.ndarray
    distance_m: np.ndarray
    model_index: np.ndarray
    num_layers: np.ndarray
    device_flops: np.ndarray
    upload_bits: np.ndarray
    edge_flops: np.ndarray
    result_bits: np.ndarray
    t_ref: np.ndarray
    e_ref: np.ndarray

    @classmethod
    def from_table(
        cls,
        scenario: Scenario,
        ul_gain: np.ndarray,
        dl_gain: np.ndarray,
        distance_m: np.ndarray,
        model_index: np.ndarray,
    ) -> Slot:
        """Build from already validated arrays (the environment's fast path)."""
        return cls(
            scenario, ul_gain, dl_gain, distance_m, model_index, *task_arrays(scenario, model_index)
        )

    @classmethod
    def from_arrays(
        cls,
        scenario: Scenario,
        ul_gain: np.ndarray,
        dl_gain: np.ndarray,
        models: Sequence[str | int | DnnProfile] | None = None,
        distance_m: np.ndarray | None = None,
    ) -> Slot:
        """A slot from explicit gains, so any allocation can be scored on any realization.

        Args:
            scenario: Gives K, N, the model mix and every constant.
            ul_gain: ``[K, N]`` linear uplink gains (finite, >= 0).
            dl_gain: ``[K, N]`` linear downlink gains (finite, >= 0).
            models: Each user's DNN, as a name or profile in ``scenario.models`` or an
                index into it; None = the first model of the mix for everyone.
            distance_m: ``[K]`` distances [m] in ``[min_distance_m, cell_radius_m]``;
                None = the distance whose path loss equals the user's mean uplink gain
                in dB (used only for the observation and the picture).
        """
        k, n = scenario.num_users, scenario.num_subchannels
        ul = _gain_array("ul_gain", ul_gain, (k, n))
        dl = _gain_array("dl_gain", dl_gain, (k, n))
        index = _model_indices(scenario, models)
        if distance_m is None:
            distance = _distance_from_gain(scenario, ul)
        else:
            distance = np.asarray(distance_m, dtype=np.float64)
            lo, hi = scenario.min_distance_m, scenario.cell_radius_m
            if distance.shape != (k,) or not np.all((distance >= lo) & (distance <= hi)):
                raise ValueError(
                    f"Slot.distance_m: got {distance_m!r}, allowed: shape ({k},) with "
                    f"values in [{lo}, {hi}] m"
                )
        return cls.from_table(scenario, ul, dl, distance, index)

    # ------------------------------------------------------------------ views
    @property
    def num_users(self) -> int:
        """K."""
        return self.scenario.num_users

    @property
    def num_subchannels(self) -> int:
        """N."""
        return self.scenario.num_subchannels

    @property
    def total_flops(self) -> np.ndarray:
        """``[K]`` the work [FLOP] of offloading from the input (``s = 0``): device plus
        edge part, the whole network for a fresh task."""
        return self.device_flops[:, 0] + self.edge_flops[:, 0]

    @cached_property
    def task_class(self) -> np.ndarray:
        """``[K]`` int: users with equal values have identical task tables (every split
        costs them the same work), so they can exchange splits. In v0 that is the
        model; the queued env's tasks in progress differ from fresh ones."""
        rows = np.column_stack(
            (
                self.num_layers,
                self.device_flops,
                self.upload_bits,
                self.edge_flops,
                self.result_bits,
                self.t_ref,
                self.e_ref,
            )
        )
        return np.unique(rows, axis=0, return_inverse=True)[1].reshape(-1)

    @property
    def profiles(self) -> tuple[DnnProfile, ...]:
        """Each user's DNN profile."""
        mix = self.scenario.profiles
        return tuple(mix[i] for i in self.model_index)


def task_arrays(scenario: Scenario, model_index: np.ndarray) -> tuple[np.ndarray, ...]:
    """The per-task tables of :class:`Slot`, for tasks ``model_index`` of any shape ``[...]``.

    Returns, in the order of the :class:`Slot` attributes: ``num_layers [...]``,
    ``device_flops [..., L_max+1]``, ``upload_bits [..., L_max+1]``, ``edge_flops [...,
    L_max+1]``, ``result_bits [...]``, ``t_ref [...]`` = ``W / (f_d phi_d)`` [s] and
    ``e_ref [...]`` = ``W kappa_d f_d^2 / phi_d`` [J] (the all-local latency and energy,
    docs/model.md section 5). The one place where a task becomes its tables.
    """
    table = scenario.model_table
    total = table.total_flops[model_index]
    return (
        table.num_layers[model_index],
        table.device_flops[model_index],
        table.upload_bits[model_index],
        table.edge_flops[model_index],
        table.result_bits[model_index],
        total / scenario.device_flops_per_s,
        total * scenario.device_joule_per_flop,
    )


def _gain_array(name: str, value: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(
            f"Slot.{name}: got {value!r}, allowed: a {shape} array of finite linear "
            "gains >= 0 ([num_users, num_subchannels])"
        )
    return arr


def _model_indices(
    scenario: Scenario, models: Sequence[str | int | DnnProfile] | None
) -> np.ndarray:
    k = scenario.num_users
    if models is None:
        return np.zeros(k, dtype=np.int64)
    names = [p.name for p in scenario.profiles]
    allowed = (
        f"{k} entries, each a model of the scenario's mix {names} or an index 0..{len(names) - 1}"
    )
    if isinstance(models, (str, DnnProfile)) or len(models) != k:
        raise ValueError(f"Slot.models: got {models!r}, allowed: {allowed}")
    index = []
    for m in models:
        if isinstance(m, DnnProfile):
            hits = [i for i, p in enumerate(scenario.profiles) if p is m or p.name == m.name]
        elif isinstance(m, str):
            hits = [i for i, name in enumerate(names) if name == m]
        elif isinstance(m, (int, np.integer)) and not isinstance(m, bool) and 0 <= m < len(names):
            hits = [int(m)]
        else:
            hits = []
        if not hits:
            raise ValueError(f"Slot.models: got {m!r}, allowed: {allowed}")
        index.append(hits[0])
    return np.array(index, dtype=np.int64)


def _distance_from_gain(scenario: Scenario, ul_gain: np.ndarray) -> np.ndarray:
    """Distance whose path loss equals the mean uplink gain [dB], clipped to the cell."""
    mean_db = linear_to_db(np.maximum(ul_gain, 1e-300)).mean(axis=1)
    d = distance_for_pathloss_db(
        -mean_db, scenario.pathloss_db_at_1km, max(scenario.pathloss_exponent, 1e-9)
    )
    return np.clip(d, scenario.min_distance_m, scenario.cell_radius_m)


@dataclass(frozen=True, eq=False)
class Allocation:
    """One slot's decision for every user, in physical units (docs/model.md section 2).

    Attributes:
        split: ``[K]`` int, split point ``s_k`` in ``0..L_k``.
        ul_subchannel: ``[K]`` int in ``0..N-1``.
        dl_subchannel: ``[K]`` int in ``0..N-1``.
        ul_power: ``[K]`` user transmit power [W] in ``[0, P_user_max]``.
        dl_power: ``[K]`` BS power for each user's result [W], ``>= 0``,
            ``sum <= P_bs_max``.
        edge_share: ``[K]`` share of the edge server, ``>= 0``, ``sum <= 1``, only
            when the scenario has ``allocate_edge_share=True``; None = equal shares
            among the offloading users (``s_k < L_k``).
    """

    split: np.ndarray
    ul_subchannel: np.ndarray
    dl_subchannel: np.ndarray
    ul_power: np.ndarray
    dl_power: np.ndarray
    edge_share: np.ndarray | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Allocation):
            return NotImplemented
        return all(
            (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
            for a, b in (
                (getattr(self, f), getattr(other, f))
                for f in (
                    "split",
                    "ul_subchannel",
                    "dl_subchannel",
                    "ul_power",
                    "dl_power",
                    "edge_share",
                )
            )
        )

    __hash__ = None  # type: ignore[assignment]  # holds mutable arrays

    def check(self, slot: Slot) -> None:
        """Raise ``ValueError`` naming the field if any entry is outside its domain."""
        sc = slot.scenario
        k = sc.num_users
        arrays = [
            _typed(name, getattr(self, name), k, integer=name in _INT_FIELDS) for name in _FIELDS
        ]
        has_share = self.edge_share is not None
        if has_share and not sc.allocate_edge_share:
            raise ValueError(
                f"Allocation.edge_share: got {np.asarray(self.edge_share).tolist()}, allowed: "
                "None (the scenario has allocate_edge_share=False: offloading users share the "
                "edge equally)"
            )
        share = _typed("edge_share", self.edge_share, k, integer=False) if has_share else _NONE
        bad = _domain_violation(
            *arrays,
            share,
            slot.num_layers,
            sc.num_subchannels,
            sc.user_max_power_w * (1 + _TOLERANCE),
            sc.bs_max_power_w * (1 + _TOLERANCE),
            1 + _TOLERANCE,
        )
        if bad >= 0:
            name = (*_FIELDS, "edge_share")[bad]
            allowed = {
                "split": f"integers 0..L_k per user with L = {slot.num_layers.tolist()}",
                "ul_subchannel": f"integers in 0..{sc.num_subchannels - 1}",
                "dl_subchannel": f"integers in 0..{sc.num_subchannels - 1}",
                "ul_power": f"finite powers in [0, {sc.user_max_power_w}] W",
                "dl_power": f"finite powers >= 0 W with sum <= {sc.bs_max_power_w} W",
                "edge_share": "finite shares >= 0 with sum <= 1, or None for equal shares",
            }[name]
            value = np.asarray(getattr(self, name))
            total = f" (sum {value.sum():.6g})" if name in ("dl_power", "edge_share") else ""
            raise ValueError(f"Allocation.{name}: got {value.tolist()}{total}, allowed: {allowed}")

    @classmethod
    def all_local(cls, slot: Slot) -> Allocation:
        """Everything on the device: ``s_k = L_k``, zero powers."""
        k = slot.num_users
        zeros = np.zeros(k, dtype=np.int64)
        return cls(
            split=slot.num_layers.copy(),
            ul_subchannel=zeros,
            dl_subchannel=zeros.copy(),
            ul_power=np.zeros(k),
            dl_power=np.zeros(k),
        )


_FIELDS = ("split", "ul_subchannel", "dl_subchannel", "ul_power", "dl_power")
_INT_FIELDS = frozenset(("split", "ul_subchannel", "dl_subchannel"))
_TOLERANCE = 1e-9
"""Relative slack on the power and share budgets, for sums rounded in floating point."""
_NONE = np.zeros(0)


def _typed(name: str, value: object, k: int, *, integer: bool) -> np.ndarray:
    """``value`` as an int64 or float64 array of shape ``(k,)``, or ``ValueError``."""
    arr = np.asarray(value)
    if arr.shape != (k,) or arr.dtype.kind not in ("iu" if integer else "fiu"):
        kind = "integers" if integer else "numbers"
        raise ValueError(f"Allocation.{name}: got {value!r}, allowed: shape ({k},) of {kind}")
    return arr.astype(np.int64 if integer else np.float64, copy=False)


@njit(cache=True)
def _domain_violation(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    share: np.ndarray,
    num_layers: np.ndarray,
    num_subchannels: int,
    p_max: float,
    q_total: float,
    share_total: float,
) -> int:
    """Index in ``(*_FIELDS, "edge_share")`` of the first field out of its domain, or -1.

    NaN fails every comparison, so it is out of every domain; so is an infinity.
    """
    for k in range(split.shape[0]):
        if not 0 <= split[k] <= num_layers[k]:
            return 0
    for k in range(split.shape[0]):
        if not 0 <= ul_sub[k] < num_subchannels:
            return 1
    for k in range(split.shape[0]):
        if not 0 <= dl_sub[k] < num_subchannels:
            return 2
    for k in range(split.shape[0]):
        if not 0.0 <= p[k] <= p_max:
            return 3
    if not (np.all(q >= 0.0) and q.sum() <= q_total):
        return 4
    if share.shape[0] and not (np.all(share >= 0.0) and share.sum() <= share_total):
        return 5
    return -1
