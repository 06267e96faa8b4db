"""The one cost function: ``evaluate(slot, allocation) -> Outcome`` (docs/model.md §5).

Everything that scores a decision calls this: the environment's reward, every
solver's objective, every benchmark. For user k with split s (device frequency
``f_d``, FLOP per cycle ``phi_d``, capacitance ``kappa_d``; edge ``F_e``, ``phi_e``,
``kappa_e``; ``f_e,k = edge_share_k F_e``)::

    T_loc  = W_dev(s) / (f_d phi_d)          E_loc  = kappa_d f_d^2 W_dev(s) / phi_d
    T_up   = D(s) / R_ul                     E_up   = p_k T_up
    T_edge = W_edge(s) / (f_e,k phi_e)       E_edge = kappa_e f_e,k^2 W_edge(s) / phi_e
    T_dl   = D_out / R_dl                    E_dl   = q_k T_dl
    T_k = T_loc + T_up + T_edge + T_dl,      E_k = E_loc + E_up + E_edge + E_dl
    c_k = lambda T_k / T_ref,k + (1 - lambda) E_k / E_ref,k
    failed task:  c_k = max(c_k, 1) + failure_penalty
    slot cost = mean_k c_k + mu * misses / K,   miss_k = failed_k or T_k > tau

``T_ref,k`` and ``E_ref,k`` are the all-local latency and energy, so all-local costs
exactly 1. A stage (upload, edge compute, download) with work to do that cannot
finish within ``scenario.latency_cap_s`` (zero power or share, or a rate below
``amount / cap``) fails the task: the stage is reported as taking the cap (so every
figure stays finite), the task counts as a miss whether or not a deadline is set,
and it costs more than running it locally (docs/model.md section 5.3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import numpy as np
from numba import njit, prange

from noma_split_env.noma import (
    cochannel_groups,
    noma_dl_sinr_user,
    noma_ul_sinr_user,
    oma_snr_user,
)
from noma_split_env.slot import Allocation, Slot

__all__ = [
    "DEVICE_ENERGY",
    "DL_RATE",
    "DL_SINR",
    "EDGE_ENERGY",
    "EDGE_SHARE",
    "ENERGY",
    "E_DL",
    "E_EDGE",
    "E_LOCAL",
    "E_UP",
    "FAILED",
    "LATENCY",
    "PARTS",
    "T_DL",
    "T_EDGE",
    "T_LOCAL",
    "T_UP",
    "UL_RATE",
    "UL_SINR",
    "USER_COST",
    "KernelSlot",
    "LinkGroups",
    "Outcome",
    "SlotTerms",
    "capped_time",
    "copy_parts",
    "evaluate",
    "evaluate_batch_kernel",
    "evaluate_into",
    "evaluate_parts",
    "evaluate_users_into",
    "kernel_slot",
    "link_groups",
    "mean_user_cost",
    "new_parts",
    "slot_terms",
]


@dataclass(eq=False, slots=True)
class Outcome:
    """The full breakdown of one slot under one allocation; arrays are ``[K]``.

    Times in [s], energies in [J], rates in [bit/s], SINRs linear. Read-only by
    convention (not frozen: a frozen dataclass of 25 fields costs microseconds to
    build, and the environment builds one every step).
    """

    cost: float
    """Slot cost ``mean_k c_k + mu misses / K`` (reward = -cost)."""
    latency_term: float
    """``lambda mean_k T_k / T_ref,k``."""
    energy_term: float
    """``(1 - lambda) mean_k E_k / E_ref,k``."""
    failure_term: float
    """What failed tasks add: ``mean_k (c_k - lambda T_k / T_ref,k - (1 - lambda)
    E_k / E_ref,k)``, nonzero only for failed users (docs/model.md section 5.3)."""
    miss_term: float
    """``mu misses / K``."""
    user_cost: np.ndarray
    latency: np.ndarray
    energy: np.ndarray
    device_energy: np.ndarray
    """``E_loc + E_up`` [J]."""
    edge_energy: np.ndarray
    """``E_edge + E_dl`` [J]."""
    t_local: np.ndarray
    t_up: np.ndarray
    t_edge: np.ndarray
    t_dl: np.ndarray
    e_local: np.ndarray
    e_up: np.ndarray
    e_edge: np.ndarray
    e_dl: np.ndarray
    ul_rate: np.ndarray
    dl_rate: np.ndarray
    ul_sinr: np.ndarray
    dl_sinr: np.ndarray
    edge_share: np.ndarray
    """Share of the edge each user got (equal shares when the allocation has none)."""
    failed: np.ndarray
    """``[K]`` bool, the task failed: one of its stages could not finish within
    ``latency_cap_s`` (its time is reported as the cap)."""
    num_failed: int
    miss: np.ndarray
    """``[K]`` bool, a failed task or a missed deadline."""
    num_misses: int
    allocation: Allocation

    def reward_terms(self) -> dict[str, float]:
        """The four terms of the cost (they sum to it): latency, energy, failure, miss."""
        return {
            "latency": self.latency_term,
            "energy": self.energy_term,
            "failure": self.failure_term,
            "miss": self.miss_term,
        }

    def to_info(self) -> dict[str, Any]:
        """Everything as a dict (the env's ``info``), with ``reward_terms`` grouped."""
        info = {name: getattr(self, name) for name in _FIELD_NAMES}
        info["reward_terms"] = self.reward_terms()
        return info


_FIELD_NAMES = tuple(f.name for f in fields(Outcome))


PARTS = (
    "user_cost",
    "latency",
    "energy",
    "device_energy",
    "edge_energy",
    "t_local",
    "t_up",
    "t_edge",
    "t_dl",
    "e_local",
    "e_up",
    "e_edge",
    "e_dl",
    "ul_rate",
    "dl_rate",
    "ul_sinr",
    "dl_sinr",
    "edge_share",
    "failed",
)
"""Every per-user quantity the kernel computes, in the order and with the names and
units of :class:`Outcome`'s arrays: the rows of a parts array (:func:`new_parts`,
``[len(PARTS), K]`` float, ``failed`` as 0.0 or 1.0). One array, not a tuple of 19: a
compiled function pays reference counting for every array it unpacks, on every call
(an evaluation of K = 4 users took 0.68 us with 19 arrays, 0.38 us with one)."""
(
    USER_COST,
    LATENCY,
    ENERGY,
    DEVICE_ENERGY,
    EDGE_ENERGY,
    T_LOCAL,
    T_UP,
    T_EDGE,
    T_DL,
    E_LOCAL,
    E_UP,
    E_EDGE,
    E_DL,
    UL_RATE,
    DL_RATE,
    UL_SINR,
    DL_SINR,
    EDGE_SHARE,
    FAILED,
) = range(len(PARTS))
"""The row of each part in a parts array (the names of :data:`PARTS`, upper case)."""


class KernelSlot(NamedTuple):
    """A slot as the compiled kernels take it (:func:`kernel_slot` builds it).

    Arrays are those of :class:`~noma_split_env.Slot`: ``[K, N]`` linear gains,
    ``[K]`` layer counts ``L_k``, ``[K, L_max+1]`` device workload [FLOP], upload
    size [bit] and edge workload [FLOP] per split, ``[K]`` result size [bit],
    all-local latency [s] and energy [J]; ``consts`` the scenario's constants, a
    ``[1]`` record of :data:`~noma_split_env.scenario.KERNEL_CONSTANTS_DTYPE`.

    A compiled function that Python calls takes ``tuple(kernel_slot(slot))`` and
    rebuilds the named tuple inside (``KernelSlot(*fields)``): numba types a plain
    tuple faster than a named one (0.7 us a call).
    """

    ul_gain: np.ndarray
    dl_gain: np.ndarray
    num_layers: np.ndarray
    device_flops: np.ndarray
    upload_bits: np.ndarray
    edge_flops: np.ndarray
    result_bits: np.ndarray
    t_ref: np.ndarray
    e_ref: np.ndarray
    consts: np.ndarray


def kernel_slot(slot: Slot) -> KernelSlot:
    """The one place a :class:`~noma_split_env.Slot` becomes the kernels' structure."""
    return KernelSlot(
        slot.ul_gain,
        slot.dl_gain,
        slot.num_layers,
        slot.device_flops,
        slot.upload_bits,
        slot.edge_flops,
        slot.result_bits,
        slot.t_ref,
        slot.e_ref,
        slot.scenario.kernel_constants,
    )


_LN2 = math.log(2.0)


@njit(cache=True)
def capped_time(amount: np.ndarray, rate: np.ndarray, cap_s: float) -> np.ndarray:
    """``amount / rate``, at most ``cap_s``, and 0 when there is nothing to do.

    ``amount / max(rate, amount / cap_s)`` equals ``amount / rate`` whenever that is
    below the cap and never divides by zero (``1e-300`` guards ``amount = 0``).
    """
    return amount / np.maximum(np.maximum(rate, amount / cap_s), 1e-300)


@njit(cache=True)
def new_parts(k_users: int) -> np.ndarray:
    """A parts array for :func:`evaluate_into`: ``[len(PARTS), K]`` float (:data:`PARTS`)."""
    return np.empty((len(PARTS), k_users))


class LinkGroups(NamedTuple):
    """Who shares which subchannel, for one discrete choice (split, subchannels):
    what every SINR of the choice reads, built once by :func:`link_groups`."""

    active: np.ndarray
    """``[K]`` bool: the user offloads (``s_k < L_k``)."""
    ul_gain: np.ndarray
    """``[K]`` each user's gain on its own uplink subchannel."""
    dl_gain: np.ndarray
    """``[K]`` each user's gain on its own downlink subchannel."""
    ul_members: np.ndarray
    """Active users by uplink subchannel (:func:`~noma_split_env.noma.cochannel_groups`)."""
    ul_start: np.ndarray
    """``[N+1]`` bounds of each uplink subchannel's users in ``ul_members``."""
    dl_members: np.ndarray
    """Active users by downlink subchannel."""
    dl_start: np.ndarray
    """``[N+1]`` bounds of each downlink subchannel's users in ``dl_members``."""


@njit(cache=True)
def link_groups(
    split: np.ndarray, ul_sub: np.ndarray, dl_sub: np.ndarray, slot: KernelSlot
) -> LinkGroups:
    """The :class:`LinkGroups` of a discrete choice (``[K]`` int arrays)."""
    k_users = split.shape[0]
    active = split < slot.num_layers
    g_ul = np.empty(k_users)
    g_dl = np.empty(k_users)
    for k in range(k_users):
        g_ul[k] = slot.ul_gain[k, ul_sub[k]]
        g_dl[k] = slot.dl_gain[k, dl_sub[k]]
    n_sub = slot.ul_gain.shape[1]
    ul_members, ul_start = cochannel_groups(ul_sub, active, n_sub)
    dl_members, dl_start = cochannel_groups(dl_sub, active, n_sub)
    return LinkGroups(active, g_ul, g_dl, ul_members, ul_start, dl_members, dl_start)


@njit(cache=True, inline="always")
def evaluate_users_into(
    out: np.ndarray,
    users: np.ndarray,
    groups: LinkGroups,
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    edge_share: np.ndarray,
    equal_share: bool,
    oma: bool,
    slot: KernelSlot,
) -> None:
    """Section 5 of docs/model.md for the users ``users`` (int array), written into
    their columns of the parts array ``out`` (:func:`new_parts`); the other columns are
    left as they are.

    ``groups`` is :func:`link_groups` of ``(split, ul_sub, dl_sub)``. A user's outputs
    depend on the variables of its co-channel users (and, under equal shares, on the
    number of offloading users), so after a change of some users' powers or shares an
    evaluation of them and their co-channel users brings ``out`` up to date: the
    incremental evaluation of the solvers. :func:`evaluate_into` is this for everyone.
    """
    c = slot.consts[0]
    cap, lam, penalty = c.latency_cap_s, c.latency_weight, c.failure_penalty
    phi_e = c.edge_flops_per_cycle
    psi = c.sic_residual
    # arrays out of the tuples once: handing a tuple of arrays to a callee costs
    # reference counting for every array in it, on every call
    active = groups.active
    g_ul, ul_members, ul_start = groups.ul_gain, groups.ul_members, groups.ul_start
    g_dl, dl_members, dl_start = groups.dl_gain, groups.dl_members, groups.dl_start
    device_flops, upload_bits, edge_flops = slot.device_flops, slot.upload_bits, slot.edge_flops
    result_bits, t_ref, e_ref = slot.result_bits, slot.t_ref, slot.e_ref
    m = max(active.sum(), 1)
    for k in users:
        on = active[k]
        ul_sinr = dl_sinr = 0.0
        ul_users = dl_users = 1.0  # users sharing the band (OMA)
        if on:  # k's co-channel users: ul_members[ul_lo:ul_hi], dl_members[dl_lo:dl_hi]
            ul_lo, ul_hi = ul_start[ul_sub[k]], ul_start[ul_sub[k] + 1]
            dl_lo, dl_hi = dl_start[dl_sub[k]], dl_start[dl_sub[k] + 1]
        if on and oma:
            ul_sinr, ul_users = oma_snr_user(k, g_ul, p, float(ul_hi - ul_lo), c.ul_noise_w)
            dl_sinr, dl_users = oma_snr_user(k, g_dl, q, float(dl_hi - dl_lo), c.dl_noise_w)
        elif on:
            ul_sinr = noma_ul_sinr_user(k, g_ul, p, ul_members, ul_lo, ul_hi, c.ul_noise_w, psi)
            dl_sinr = noma_dl_sinr_user(k, g_dl, q, dl_members, dl_lo, dl_hi, c.dl_noise_w, psi)
        share = (1.0 if on else 0.0) / m if equal_share else edge_share[k]
        # B log2(1 + SINR), through log1p: exact at the low SINRs of far users too
        ul_rate = c.ul_subchannel_hz / ul_users * (np.log1p(ul_sinr) / _LN2)
        dl_rate = c.dl_subchannel_hz / dl_users * (np.log1p(dl_sinr) / _LN2)
        w_dev = device_flops[k, split[k]]
        d_up = upload_bits[k, split[k]]
        w_edge = edge_flops[k, split[k]]
        f_edge = share * c.edge_freq_hz
        d_dl = result_bits[k] if on else 0.0
        t_local = w_dev / c.device_flops_per_s
        e_local = w_dev * c.device_joule_per_flop
        t_up = d_up / max(max(ul_rate, d_up / cap), 1e-300)  # capped_time, per user
        e_up = p[k] * t_up
        t_edge = w_edge / max(max(f_edge * phi_e, w_edge / cap), 1e-300)
        e_edge = c.edge_capacitance * f_edge**2 * w_edge / phi_e
        t_dl = d_dl / max(max(dl_rate, d_dl / cap), 1e-300)
        e_dl = q[k] * t_dl
        latency = t_local + t_up + t_edge + t_dl
        device_energy = e_local + e_up
        edge_energy = e_edge + e_dl
        energy = device_energy + edge_energy
        # ratios first: all-local (latency == t_ref, energy == e_ref) then costs exactly 1
        user_cost = lam * (latency / t_ref[k]) + (1.0 - lam) * (energy / e_ref[k])
        # a stage that cannot finish within the cap fails the task (docs/model.md 5.3)
        failed = on and (
            (d_up > 0.0 and ul_rate < d_up / cap)
            or (w_edge > 0.0 and f_edge * phi_e < w_edge / cap)
            or (d_dl > 0.0 and dl_rate < d_dl / cap)
        )
        if failed:
            user_cost = max(user_cost, 1.0) + penalty
        out[USER_COST, k] = user_cost
        out[LATENCY, k] = latency
        out[ENERGY, k] = energy
        out[DEVICE_ENERGY, k] = device_energy
        out[EDGE_ENERGY, k] = edge_energy
        out[T_LOCAL, k] = t_local
        out[T_UP, k] = t_up
        out[T_EDGE, k] = t_edge
        out[T_DL, k] = t_dl
        out[E_LOCAL, k] = e_local
        out[E_UP, k] = e_up
        out[E_EDGE, k] = e_edge
        out[E_DL, k] = e_dl
        out[UL_RATE, k] = ul_rate
        out[DL_RATE, k] = dl_rate
        out[UL_SINR, k] = ul_sinr
        out[DL_SINR, k] = dl_sinr
        out[EDGE_SHARE, k] = share
        out[FAILED, k] = 1.0 if failed else 0.0


@njit(cache=True, inline="always")
def mean_user_cost(parts: np.ndarray) -> float:
    """``mean_k c_k`` of an evaluated parts array, summed in user order (so that K
    all-local users sum to exactly K, and an incremental evaluation gives the same bits
    as a full one)."""
    k_users = parts.shape[1]
    total = 0.0
    for k in range(k_users):
        total += parts[USER_COST, k]
    return total / k_users


@njit(cache=True, inline="always")
def copy_parts(src: np.ndarray, dst: np.ndarray) -> None:
    """Copy the parts array ``src`` into ``dst`` (two :func:`new_parts` of one K)."""
    for j in range(src.shape[0]):  # element loops: no slice machinery
        for i in range(src.shape[1]):
            dst[j, i] = src[j, i]


@njit(cache=True)
def evaluate_into(
    out: np.ndarray,
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    edge_share: np.ndarray,
    equal_share: bool,
    oma: bool,
    slot: KernelSlot,
) -> tuple[float, float, float, float]:
    """Section 5 of docs/model.md for every user, written into ``out`` (:func:`new_parts`):
    returns the mean user cost and its latency, energy and failure terms (the three add
    up to the mean user cost). ``split .. q`` [-, -, -, W, W] and ``edge_share`` are
    ``[K]``; with ``equal_share`` the shares are equal among offloading users
    (``edge_share`` unread).

    The compiled form of :func:`evaluate`, for compiled callers (the solvers' cores,
    which keep their buffers from one evaluation to the next); Python callers use
    :func:`evaluate`. :func:`evaluate_users_into` for every user, then the terms.
    """
    c = slot.consts[0]
    lam = c.latency_weight
    k_users = split.shape[0]
    groups = link_groups(split, ul_sub, dl_sub, slot)
    users = np.arange(k_users)
    evaluate_users_into(
        out, users, groups, split, ul_sub, dl_sub, p, q, edge_share, equal_share, oma, slot
    )
    latency_sum = energy_sum = extra = 0.0
    for k in range(k_users):
        latency_cost = lam * (out[LATENCY, k] / slot.t_ref[k])
        energy_cost = (1.0 - lam) * (out[ENERGY, k] / slot.e_ref[k])
        latency_sum += latency_cost
        energy_sum += energy_cost
        if out[FAILED, k] > 0.0:
            extra += out[USER_COST, k] - (latency_cost + energy_cost)
    mean_cost = mean_user_cost(out)
    return mean_cost, latency_sum / k_users, energy_sum / k_users, extra / k_users


@njit(cache=True)
def evaluate_parts(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    edge_share: np.ndarray,
    equal_share: bool,
    oma: bool,
    slot: KernelSlot,
) -> tuple[np.ndarray, float, float, float, float]:
    """:func:`evaluate_into` into a new parts array: ``(parts, mean user cost, latency,
    energy and failure terms)``."""
    parts = new_parts(split.shape[0])
    mean_cost, latency_term, energy_term, failure_term = evaluate_into(
        parts, split, ul_sub, dl_sub, p, q, edge_share, equal_share, oma, slot
    )
    return parts, mean_cost, latency_term, energy_term, failure_term


@njit(cache=True)
def _evaluate_kernel(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    edge_share: np.ndarray,
    equal_share: bool,
    oma: bool,
    slot_fields: tuple,
) -> tuple[np.ndarray, float, float, float, float]:
    """:func:`evaluate_parts` on ``KernelSlot(*slot_fields)``: the parts array
    ``[len(PARTS), K]`` (``failed`` as 0/1) and the terms (what :func:`evaluate`
    unpacks into an :class:`Outcome`)."""
    stacked, mean_cost, latency_term, energy_term, failure_term = evaluate_parts(
        split, ul_sub, dl_sub, p, q, edge_share, equal_share, oma, KernelSlot(*slot_fields)
    )
    return stacked, mean_cost, latency_term, energy_term, failure_term


@njit(cache=True, parallel=True)
def evaluate_batch_kernel(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    edge_share: np.ndarray,
    equal_share: bool,
    oma: bool,
    ul_gain: np.ndarray,
    dl_gain: np.ndarray,
    num_layers: np.ndarray,
    device_flops: np.ndarray,
    upload_bits: np.ndarray,
    edge_flops: np.ndarray,
    result_bits: np.ndarray,
    t_ref: np.ndarray,
    e_ref: np.ndarray,
    consts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`evaluate_into` for each of ``B`` cells of one scenario: every argument
    is the one of a cell with a leading ``[B]`` axis (the slot's arrays as in
    :class:`KernelSlot`; ``edge_share`` unread with ``equal_share``). Returns the
    parts ``[B, len(PARTS), K]`` (``failed`` as 0/1) and ``[B, 4]`` the mean user cost
    and its latency, energy and failure terms: the batched vector env's step, the
    same arithmetic as :func:`evaluate` cell by cell. The cells are spread over the
    cores (numba ``prange``; ``NUMBA_NUM_THREADS`` caps it), each computed alone, so
    the numbers do not depend on the threads; each cell writes its parts straight into
    its rows of the output (on 2 cores: 5.4 us for one cell against 4.2 serial, 8.8
    against 10.6 for eight)."""
    cells, k_users = split.shape
    stacked = np.empty((cells, len(PARTS), k_users))
    terms = np.empty((cells, 4))
    for b in prange(cells):
        slot = KernelSlot(
            ul_gain[b], dl_gain[b], num_layers[b], device_flops[b], upload_bits[b],
            edge_flops[b], result_bits[b], t_ref[b], e_ref[b], consts,
        )  # fmt: skip
        share = t_ref[b] if equal_share else edge_share[b]
        mean_cost, latency_term, energy_term, failure_term = evaluate_into(
            stacked[b], split[b], ul_sub[b], dl_sub[b], p[b], q[b], share, equal_share, oma,
            slot,
        )  # fmt: skip
        terms[b, 0] = mean_cost
        terms[b, 1] = latency_term
        terms[b, 2] = energy_term
        terms[b, 3] = failure_term
    return stacked, terms


class SlotTerms(NamedTuple):
    """What the slot cost adds to the kernel's parts (docs/model.md section 5.3),
    for one slot (``[K]`` arrays, scalars) or a batch (a leading ``[B]`` axis)."""

    failed: np.ndarray
    """Bool, the task failed."""
    miss: np.ndarray
    """Bool, a failed task or a latency above the deadline."""
    num_misses: np.ndarray
    miss_term: np.ndarray
    """``mu misses / K``."""
    cost: np.ndarray
    """``mean_k c_k + mu misses / K``."""


def slot_terms(stacked: np.ndarray, mean_user_cost: Any, scenario: Any) -> SlotTerms:
    """Misses and the slot cost from the stacked parts ``[..., len(PARTS), K]`` and the
    mean user cost ``[...]`` of :func:`_evaluate_kernel` or :func:`evaluate_batch_kernel`:
    the one place a deadline and the miss penalty enter the cost (for Python callers;
    the solvers' compiled cost is ``agents.li_gd.core.slot_cost``)."""
    failed = stacked[..., FAILED, :] > 0.0
    miss = failed
    if scenario.deadline_s is not None:
        miss = failed | (stacked[..., LATENCY, :] > scenario.deadline_s)
    num_misses = miss.sum(axis=-1)
    miss_term = scenario.miss_penalty * num_misses / scenario.num_users
    # the mean of per-user costs (not the sum of the terms): all-local users cost
    # exactly 1 each, so an all-local slot costs exactly 1.0 for any lambda
    return SlotTerms(failed, miss, num_misses, miss_term, mean_user_cost + miss_term)


def evaluate(slot: Slot, allocation: Allocation, *, check: bool = True) -> Outcome:
    """Score ``allocation`` on ``slot``: latency, energy, rates and cost of every user.

    Args:
        slot: The channel and task realization.
        allocation: The decision; outside its domain it raises ``ValueError``
            (never repaired). ``check=False`` skips the domain check, for callers
            that build allocations valid by construction (the env's decoder).
    """
    if not isinstance(allocation, Allocation):
        raise ValueError(
            f"evaluate.allocation: got {type(allocation).__name__} {allocation!r:.80}, allowed: "
            "an Allocation (an env's step() takes the native dict action)"
        )
    if check:
        allocation.check(slot)
    sc = slot.scenario
    a = allocation
    equal_share = a.edge_share is None
    stacked, mean_user_cost, latency_term, energy_term, failure_term = _evaluate_kernel(
        np.asarray(a.split, dtype=np.int64),
        np.asarray(a.ul_subchannel, dtype=np.int64),
        np.asarray(a.dl_subchannel, dtype=np.int64),
        np.asarray(a.ul_power, dtype=np.float64),
        np.asarray(a.dl_power, dtype=np.float64),
        slot.t_ref if equal_share else np.asarray(a.edge_share, dtype=np.float64),
        equal_share,
        sc.access == "oma",
        tuple(kernel_slot(slot)),
    )
    t = slot_terms(stacked, mean_user_cost, sc)
    return Outcome(
        float(t.cost),
        latency_term,
        energy_term,
        failure_term,
        float(t.miss_term),
        *stacked[:FAILED],  # the parts in the order of Outcome's arrays, failed last
        t.failed,
        int(t.failed.sum()),
        t.miss,
        int(t.num_misses),
        allocation,
    )
