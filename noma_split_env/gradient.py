"""Analytic gradient of the slot cost in the continuous variables, for a fixed discrete choice.

For a fixed split ``s``, uplink and downlink subchannels, the slot cost of
:func:`noma_split_env.evaluate` is a function of the uplink powers ``p [K]`` [W], the
downlink powers ``q [K]`` [W] and, when the allocation carries them, the edge shares
``e [K]``. This module gives its derivative by the chain rule, written in terms of the
quantities that :func:`~noma_split_env.evaluate` already returns in its
:class:`~noma_split_env.Outcome` (SINRs, stage times, edge energies and shares), so the
physics is not derived a second time on the side; only the SIC order
(:func:`noma_split_env.noma.decoded_before`) and each user's gain on its own
subchannel are read besides.

Derivation (notation of docs/model.md sections 4-5; ``Gamma`` = SINR, ``T`` times, ``E``
energies, all per user ``k``)::

    C      = (1/K) sum_k c_k + mu misses / K
    c_k    = a_k T_k + b_k E_k,        a_k = lambda / T_ref,k,  b_k = (1 - lambda) / E_ref,k
    T_up,k = D_k / R_k,   R_k = B' log2(1 + Gamma_k)   (B' = B, or B / m_n under OMA)
    E_up,k = p_k T_up,k

    dT_up,k / dGamma_k = -T_up,k / ((1 + Gamma_k) ln(1 + Gamma_k))        (B' cancels)
    h_k := dc_k / dGamma_k = (a_k + b_k p_k) dT_up,k / dGamma_k

    dC/dp_i = (1/K) [ b_i T_up,i + sum_k h_k dGamma_k / dp_i ]

The uplink SINR ``Gamma_k = p_k g_k / I_k`` (``I_k``: interference plus noise, which
does not depend on ``p_k``) gives, with ``w_kj = 1`` when ``j`` is decoded after
``k`` (weaker gain, full interference) and ``w_kj = psi`` when ``j`` is decoded before
(SIC residual)::

    dGamma_k / dp_k = Gamma_k / p_k
    dGamma_k / dp_j = -w_kj g_j Gamma_k / I_k = -w_kj g_j Gamma_k^2 / (p_k g_k)   (j co-channel)

The downlink (``Gamma_k = q_k g_k / J_k``, ``J_k = g_k (sum_stronger q_j + psi
sum_weaker q_j) + sigma^2``) is the same with ``q``, ``T_dl = D_out / R_dl``,
``E_dl = q T_dl`` and ``w'_kj = 1`` when ``j`` is *stronger* than ``k``, ``psi`` when
weaker::

    dGamma_k / dq_k = Gamma_k / q_k,     dGamma_k / dq_j = -w'_kj Gamma_k^2 / q_k

OMA has no interference (``Gamma_k = p_k g_k m_n / sigma^2``): only the own-power
terms remain. Edge shares (``T_edge = W_edge / (e F_e phi_e)``,
``E_edge = kappa_e e^2 F_e^2 W_edge / phi_e``)::

    dC/de_k = (1/K) [ -a_k T_edge,k / e_k + 2 b_k E_edge,k / e_k ]

Non-smooth parts, stated once:

* **Latency cap.** A stage whose time reached ``scenario.latency_cap_s`` is constant in
  the powers and shares (``T = cap``): its latency derivative is 0; the energy of a
  capped upload is ``p cap``, whose derivative ``b cap`` remains.
* **Failed tasks.** A failed task costs ``max(c_k, 1) + failure_penalty``
  (docs/model.md section 5.3): where ``c_k <= 1`` that is a constant, with derivative
  0 in every variable; where ``c_k > 1`` it is ``c_k``'s. The jump at the failure
  boundary itself (and the miss it adds) is seen only by the line search.
* **Deadlines.** The miss term ``mu misses / K`` is piecewise constant: its gradient
  is zero wherever it exists. Solvers see a deadline only through the cost values of
  their line search.
* **Users that do not offload** (``s_k = L_k``) send and receive nothing: every
  derivative in their own variables is 0, and they interfere with nobody.

The SIC order depends on the gains only, never on the powers, so the cost is smooth in
``(p, q, e)`` away from the cap boundary (the rank changes only with the discrete
subchannel choice). Equal edge shares (``edge_share=None``) are a function of the
splits alone: no edge gradient then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from noma_split_env.evaluate import (
    DL_SINR,
    E_EDGE,
    EDGE_SHARE,
    FAILED,
    PARTS,
    T_DL,
    T_EDGE,
    T_UP,
    UL_SINR,
    USER_COST,
    KernelSlot,
    LinkGroups,
    Outcome,
    evaluate,
    kernel_slot,
    link_groups,
)
from noma_split_env.noma import decoded_before
from noma_split_env.slot import Allocation, Slot

__all__ = ["CostGradient", "cost_gradient", "gradient_kernel", "gradient_users_into"]


@dataclass(frozen=True, eq=False)
class CostGradient:
    """Derivative of the slot cost; arrays are ``[K]``.

    Attributes:
        ul_power: ``dC/dp_k`` [1/W].
        dl_power: ``dC/dq_k`` [1/W].
        edge_share: ``dC/de_k`` (dimensionless), or None when the allocation uses equal
            shares (``edge_share=None``).
        outcome: The :class:`~noma_split_env.Outcome` the gradient was computed from.
    """

    ul_power: np.ndarray
    dl_power: np.ndarray
    edge_share: np.ndarray | None
    outcome: Outcome


def cost_gradient(
    slot: Slot, allocation: Allocation, outcome: Outcome | None = None
) -> CostGradient:
    """The gradient of ``evaluate(slot, allocation).cost`` in the continuous variables.

    Args:
        slot: The channel and task realization.
        allocation: The point; its discrete part (split, subchannels) stays fixed.
        outcome: ``evaluate(slot, allocation)`` if the caller already has it.
    """
    if outcome is None:
        outcome = evaluate(slot, allocation)
    sc = slot.scenario
    a = allocation
    with_share = a.edge_share is not None
    gp, gq, ge = gradient_kernel(
        np.asarray(a.split, dtype=np.int64),
        np.asarray(a.ul_subchannel, dtype=np.int64),
        np.asarray(a.dl_subchannel, dtype=np.int64),
        np.asarray(a.ul_power, dtype=np.float64),
        np.asarray(a.dl_power, dtype=np.float64),
        np.array([getattr(outcome, name) for name in PARTS], dtype=np.float64),
        kernel_slot(slot),
        with_share,
        sc.access == "oma",
    )
    return CostGradient(gp, gq, ge if with_share else None, outcome)


_CAPPED = 1.0 - 1e-9
"""A stage within this factor of the cap counts as capped (``capped_time`` returns
``amount / (amount / cap)``, which may round one ulp below ``cap``)."""


@njit(cache=True)
def _weights(
    failed: bool, user_cost: float, t_ref: float, e_ref: float, lam: float, penalty: float
) -> tuple[float, float]:
    """``(a_k, b_k)`` of the module docstring; ``(0, 0)`` for a failed task at cost
    ``1 + penalty``, which is constant in every variable. (Scalars only: a compiled
    callee that takes arrays costs ~10 ns per array and call in reference counting.)"""
    if failed and user_cost <= 1.0 + penalty:
        return 0.0, 0.0
    return lam / t_ref, (1.0 - lam) / e_ref


@njit(cache=True, inline="always")
def _own_and_cross(
    deriv: np.ndarray,
    k: int,
    a_k: float,
    b_k: float,
    power: np.ndarray,
    t_stage: float,
    sinr: float,
    gain: np.ndarray,
    members: np.ndarray,
    lo: int,
    hi: int,
    cap: float,
    psi: float,
    oma: bool,
    uplink: bool,
) -> None:
    """Add user k's terms of one link into ``deriv`` (un-averaged): ``b_k T_k`` and
    ``h_k dGamma_k/dx_k`` to its own entry, ``h_k dGamma_k/dx_j`` to each co-channel
    user ``j`` of ``members[lo:hi]``."""
    deriv[k] += b_k * t_stage  # d(x_k T_k)/dx_k at fixed T_k
    g = sinr
    if t_stage <= 0.0 or t_stage >= cap * _CAPPED or g <= 0.0:
        return  # nothing sent, or capped: no latency derivative
    h = -(a_k + b_k * power[k]) * t_stage / ((1.0 + g) * np.log1p(g))
    deriv[k] += h * g / power[k]
    if oma:
        return
    for idx in range(lo, hi):  # k's co-channel users
        j = members[idx]
        if j == k:
            continue
        j_first = decoded_before(gain, j, k)
        if uplink:
            # weaker users (decoded after k) interfere fully, stronger ones by psi
            w = psi if j_first else 1.0
            deriv[j] -= h * w * gain[j] * g * g / (power[k] * gain[k])
        else:
            # stronger users' signals interfere, weaker ones are removed up to psi
            w = 1.0 if j_first else psi
            deriv[j] -= h * w * g * g / power[k]


@njit(cache=True, inline="always")
def gradient_users_into(
    gp: np.ndarray,
    gq: np.ndarray,
    ge: np.ndarray,
    users: np.ndarray,
    groups: LinkGroups,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    parts: np.ndarray,
    slot: KernelSlot,
    with_share: bool,
    oma: bool,
) -> None:
    """The terms of the users ``users`` (int array) of ``K dC/dp``, ``K dC/dq`` and
    ``K dC/de`` added into ``gp``, ``gq``, ``ge`` (``[K]``; un-averaged).

    A user's terms land on its own entries and on its co-channel users' (module
    docstring), so the entries of a user whose co-channel users of a link are all in
    ``users`` are exact: what a descent over a few subchannels' users needs.
    ``groups`` is :func:`~noma_split_env.evaluate.link_groups` of the choice, ``parts``
    its evaluated parts array at ``(p, q)`` (:func:`~noma_split_env.evaluate.new_parts`).
    """
    c = slot.consts[0]
    psi, lam, cap, penalty = c.sic_residual, c.latency_weight, c.latency_cap_s, c.failure_penalty
    # arrays out of the tuples once: handing a tuple of arrays to a callee costs
    # reference counting for every array in it, on every call
    active, t_ref, e_ref = groups.active, slot.t_ref, slot.e_ref
    g_ul, ul_members, ul_start = groups.ul_gain, groups.ul_members, groups.ul_start
    g_dl, dl_members, dl_start = groups.dl_gain, groups.dl_members, groups.dl_start
    for k in users:
        if not active[k]:
            continue
        failed = parts[FAILED, k] > 0.0
        a_k, b_k = _weights(failed, parts[USER_COST, k], t_ref[k], e_ref[k], lam, penalty)
        ul_lo, ul_hi = ul_start[ul_sub[k]], ul_start[ul_sub[k] + 1]
        dl_lo, dl_hi = dl_start[dl_sub[k]], dl_start[dl_sub[k] + 1]
        _own_and_cross(
            gp, k, a_k, b_k, p, parts[T_UP, k], parts[UL_SINR, k], g_ul, ul_members, ul_lo, ul_hi,
            cap, psi, oma, True,
        )  # fmt: skip
        _own_and_cross(
            gq, k, a_k, b_k, q, parts[T_DL, k], parts[DL_SINR, k], g_dl, dl_members, dl_lo, dl_hi,
            cap, psi, oma, False,
        )  # fmt: skip
        e = parts[EDGE_SHARE, k]
        if with_share and e > 0.0:  # zero share: capped, no derivative
            t_edge = parts[T_EDGE, k]
            if t_edge < cap * _CAPPED:
                ge[k] -= a_k * t_edge / e
            ge[k] += 2.0 * b_k * parts[E_EDGE, k] / e


@njit(cache=True)
def gradient_kernel(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    parts: np.ndarray,
    slot: KernelSlot,
    with_share: bool,
    oma: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dC/dp, dC/dq, dC/de)``, each ``[K]``, at the point whose parts array is
    ``parts`` (module docstring); ``dC/de`` is zeros when ``with_share`` is False (equal
    shares). ``split .. q`` [-, -, -, W, W] are ``[K]``.
    """
    k_users = split.shape[0]
    groups = link_groups(split, ul_sub, dl_sub, slot)
    gp = np.zeros(k_users)
    gq = np.zeros(k_users)
    ge = np.zeros(k_users)
    gradient_users_into(
        gp, gq, ge, np.arange(k_users), groups, ul_sub, dl_sub, p, q, parts, slot, with_share, oma
    )
    inv_k = 1.0 / k_users
    return gp * inv_k, gq * inv_k, ge * inv_k
