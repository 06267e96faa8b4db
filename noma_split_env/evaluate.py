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
from typing import Any

import numpy as np
from numba import njit

from noma_split_env.noma import noma_dl_sinr, noma_ul_sinr, oma_snr
from noma_split_env.slot import Allocation, Slot

__all__ = ["PARTS", "Outcome", "capped_time", "evaluate"]


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

    def to_info(self) -> dict[str, Any]:
        """Everything as a dict (the env's ``info``), with ``reward_terms`` grouped."""
        info = {name: getattr(self, name) for name in _FIELD_NAMES}
        info["reward_terms"] = {
            "latency": self.latency_term,
            "energy": self.energy_term,
            "failure": self.failure_term,
            "miss": self.miss_term,
        }
        return info


_FIELD_NAMES = tuple(f.name for f in fields(Outcome))

# Rows of the [NUM_PARTS, K] array the kernel fills, in the order of Outcome's arrays.
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


_LN2 = math.log(2.0)


@njit(cache=True)
def capped_time(amount: np.ndarray, rate: np.ndarray, cap_s: float) -> np.ndarray:
    """``amount / rate``, at most ``cap_s``, and 0 when there is nothing to do.

    ``amount / max(rate, amount / cap_s)`` equals ``amount / rate`` whenever that is
    below the cap and never divides by zero (``1e-300`` guards ``amount = 0``).
    """
    return amount / np.maximum(np.maximum(rate, amount / cap_s), 1e-300)


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
    ul_gain: np.ndarray,
    dl_gain: np.ndarray,
    num_layers: np.ndarray,
    device_flops: np.ndarray,
    upload_bits: np.ndarray,
    total_flops: np.ndarray,
    result_bits: np.ndarray,
    t_ref: np.ndarray,
    e_ref: np.ndarray,
    c: np.ndarray,
) -> tuple[np.ndarray, float, float, float, float]:
    """Section 5 of docs/model.md for every user: the ``[len(PARTS), K]`` array of
    parts, the mean user cost, and its latency, energy and failure terms (the three
    add up to the mean user cost).

    ``c`` holds the scenario's constants in the order of ``scenario.KERNEL_CONSTANTS``.
    """
    k_users = split.shape[0]
    b_ul, b_dl, noise_ul, noise_dl, psi, dev_speed = c[0], c[1], c[2], c[3], c[4], c[5]
    dev_joule, f_e, phi_e, kappa_e, cap, lam = c[6], c[7], c[8], c[9], c[10], c[11]
    penalty = c[12]
    active = split < num_layers
    g_ul = np.empty(k_users)
    g_dl = np.empty(k_users)
    w_dev = np.empty(k_users)
    d_up = np.empty(k_users)
    for k in range(k_users):  # gathers: each user's own subchannel and split
        g_ul[k] = ul_gain[k, ul_sub[k]]
        g_dl[k] = dl_gain[k, dl_sub[k]]
        w_dev[k] = device_flops[k, split[k]]
        d_up[k] = upload_bits[k, split[k]]
    n_sub = ul_gain.shape[1]
    if oma:
        ul_sinr, ul_users = oma_snr(g_ul, p, ul_sub, active, noise_ul, n_sub)
        dl_sinr, dl_users = oma_snr(g_dl, q, dl_sub, active, noise_dl, n_sub)
    else:
        ul_sinr = noma_ul_sinr(g_ul, p, ul_sub, active, noise_ul, psi)
        dl_sinr = noma_dl_sinr(g_dl, q, dl_sub, active, noise_dl, psi)
        ul_users = np.ones(k_users)
        dl_users = np.ones(k_users)
    if equal_share:
        share = active / max(active.sum(), 1)
    else:
        share = edge_share
    # B log2(1 + SINR), through log1p: exact at the low SINRs of far users too
    ul_rate = b_ul / ul_users * (np.log1p(ul_sinr) / _LN2)
    dl_rate = b_dl / dl_users * (np.log1p(dl_sinr) / _LN2)
    w_edge = total_flops - w_dev
    f_edge = share * f_e
    d_dl = np.where(active, result_bits, 0.0)

    t_local = w_dev / dev_speed
    e_local = w_dev * dev_joule
    t_up = capped_time(d_up, ul_rate, cap)
    e_up = p * t_up
    t_edge = capped_time(w_edge, f_edge * phi_e, cap)
    e_edge = kappa_e * f_edge**2 * w_edge / phi_e
    t_dl = capped_time(d_dl, dl_rate, cap)
    e_dl = q * t_dl

    latency = t_local + t_up + t_edge + t_dl
    device_energy = e_local + e_up
    edge_energy = e_edge + e_dl
    energy = device_energy + edge_energy
    # ratios first: all-local (latency == t_ref, energy == e_ref) then costs exactly 1
    latency_cost = lam * (latency / t_ref)
    energy_cost = (1.0 - lam) * (energy / e_ref)
    user_cost = latency_cost + energy_cost
    # a stage that cannot finish within the cap fails the task (docs/model.md 5.3)
    failed = active & (
        (d_up > 0.0) & (ul_rate < d_up / cap)
        | (w_edge > 0.0) & (f_edge * phi_e < w_edge / cap)
        | (d_dl > 0.0) & (dl_rate < d_dl / cap)
    )
    extra = 0.0
    for k in range(k_users):
        if failed[k]:
            failed_cost = max(user_cost[k], 1.0) + penalty
            extra += failed_cost - user_cost[k]
            user_cost[k] = failed_cost
    parts = np.vstack((
        user_cost, latency, energy, device_energy, edge_energy,
        t_local, t_up, t_edge, t_dl, e_local, e_up, e_edge, e_dl,
        ul_rate, dl_rate, ul_sinr, dl_sinr, share, failed.astype(np.float64),
    ))  # fmt: skip
    total = 0.0
    for k in range(k_users):  # in order: K all-local users sum to exactly K
        total += user_cost[k]
    return parts, total / k_users, latency_cost.mean(), energy_cost.mean(), extra / k_users


def kernel_slot_arguments(slot: Slot) -> tuple[Any, ...]:
    """The slot's arguments of ``_evaluate_kernel``, in its order (after the access flag):
    gains, layer counts, per-split workloads and upload sizes, totals, result sizes,
    all-local references and the scenario's constants. Solvers that call the compiled
    kernel directly (:mod:`agents.gradient_descent`) take them from here."""
    return (
        slot.ul_gain,
        slot.dl_gain,
        slot.num_layers,
        slot.device_flops,
        slot.upload_bits,
        slot.total_flops,
        slot.result_bits,
        slot.t_ref,
        slot.e_ref,
        slot.scenario.kernel_constants,
    )


def evaluate(slot: Slot, allocation: Allocation, *, check: bool = True) -> Outcome:
    """Score ``allocation`` on ``slot``: latency, energy, rates and cost of every user.

    Args:
        slot: The channel and task realization.
        allocation: The decision; outside its domain it raises ``ValueError``
            (never repaired). ``check=False`` skips the domain check, for callers
            that build allocations valid by construction (the env's decoder).
    """
    if check:
        allocation.check(slot)
    sc = slot.scenario
    a = allocation
    equal_share = a.edge_share is None
    parts, mean_user_cost, latency_term, energy_term, failure_term = _evaluate_kernel(
        np.asarray(a.split, dtype=np.int64),
        np.asarray(a.ul_subchannel, dtype=np.int64),
        np.asarray(a.dl_subchannel, dtype=np.int64),
        np.asarray(a.ul_power, dtype=np.float64),
        np.asarray(a.dl_power, dtype=np.float64),
        slot.t_ref if equal_share else np.asarray(a.edge_share, dtype=np.float64),
        equal_share,
        sc.access == "oma",
        *kernel_slot_arguments(slot),
    )
    k = sc.num_users
    failed = parts[-1] > 0.0
    if sc.deadline_s is None:
        miss = failed
    else:
        miss = failed | (parts[1] > sc.deadline_s)
    num_misses = int(miss.sum())
    miss_term = sc.miss_penalty * num_misses / k
    return Outcome(
        # the mean of per-user costs (not the sum of the terms): all-local users cost
        # exactly 1 each, so an all-local slot costs exactly 1.0 for any lambda
        mean_user_cost + miss_term,
        latency_term,
        energy_term,
        failure_term,
        miss_term,
        *parts[:-1],
        failed,
        int(failed.sum()),
        miss,
        num_misses,
        allocation,
    )
