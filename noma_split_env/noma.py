"""Multiple access: NOMA uplink/downlink SINR with SIC ordering, and OMA.

Every function works on per-user arrays ``[K]``: the gain of each user on *its own*
chosen subchannel, its power and its subchannel index. Users with ``active == False``
(split ``s_k = L_k``: nothing to send) take part in neither link: they cause no
interference and get SINR 0.

SIC order (docs/model.md section 4): on each subchannel users are ranked by channel gain,
strongest first; equal gains are ranked by user index (lower index = stronger), so
the order is total and deterministic.

* Uplink (SIC at the BS, strongest decoded first):
  ``SINR_k = p_k g_k / (sum_{j weaker} p_j g_j + psi sum_{j stronger} p_j g_j + sigma^2)``
* Downlink (superposition coding, SIC at the users; user k removes the weaker users'
  signals and sees the stronger users' as interference):
  ``SINR_k = q_k g_k / (g_k sum_{j stronger} q_j + psi g_k sum_{j weaker} q_j + sigma^2)``
* OMA: the ``m_n`` active users of subchannel n split its bandwidth equally and do not
  interfere: ``R_k = (B/m_n) log2(1 + p_k g_k / (sigma^2 / m_n))`` (the noise scales
  with the bandwidth).

The sums run over each user's co-channel group (:func:`cochannel_groups`), compiled
by numba: O(K^2 / N) work instead of O(K^2) over all pairs, and one slot's SINRs cost
about a microsecond, against tens for the same sums as NumPy pair masks (each NumPy
call on ``[K]`` arrays costs ~1 us of overhead, and the environment and Li-GD
evaluate a slot many thousand times a second).

References: Z. Ding et al., "Application of Non-Orthogonal Multiple Access in LTE and
5G Networks", IEEE Commun. Mag. 2017; Y. Saito et al., "Non-Orthogonal Multiple Access
(NOMA) for Cellular Future Radio Access", IEEE VTC Spring 2013.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "cochannel_groups",
    "decoded_before",
    "noma_dl_sinr",
    "noma_dl_sinr_into",
    "noma_dl_sinr_user",
    "noma_ul_sinr",
    "noma_ul_sinr_into",
    "noma_ul_sinr_user",
    "oma_snr",
    "oma_snr_user",
]


@njit(cache=True, inline="always")
def decoded_before(gain: np.ndarray, j: int, k: int) -> bool:
    """True when user j ranks above user k in SIC order (larger gain, ties by index)."""
    return gain[j] > gain[k] or (gain[j] == gain[k] and j < k)


@njit(cache=True)
def cochannel_groups(
    subchannel: np.ndarray, active: np.ndarray, num_subchannels: int
) -> tuple[np.ndarray, np.ndarray]:
    """The active users of each subchannel, in index order: ``(members, start)``.

    ``members[start[n]:start[n+1]]`` are the active users on subchannel ``n``
    (a counting sort, O(K + N)). Sums over a user's co-channel users then cost its
    group's size instead of K, and add the same terms in the same order as a loop over
    all users would (so the results are the same to the last bit).
    """
    start = np.zeros(num_subchannels + 1, dtype=np.int64)
    for k in range(subchannel.shape[0]):
        if active[k]:
            start[subchannel[k] + 1] += 1
    for n in range(num_subchannels):
        start[n + 1] += start[n]
    fill = start[:-1].copy()
    members = np.empty(start[-1], dtype=np.int64)
    for k in range(subchannel.shape[0]):
        if active[k]:
            members[fill[subchannel[k]]] = k
            fill[subchannel[k]] += 1
    return members, start


@njit(cache=True, inline="always")
def _cochannel_sums(
    gain: np.ndarray,
    signal: np.ndarray,
    times_gain: bool,
    members: np.ndarray,
    lo: int,
    hi: int,
    k: int,
) -> tuple[float, float]:
    """``(sum over stronger, sum over weaker)`` of ``signal`` (times ``gain`` if
    ``times_gain``) among k's co-channel users ``members[lo:hi]`` (its subchannel's
    group in :func:`cochannel_groups`)."""
    stronger = 0.0
    weaker = 0.0
    for idx in range(lo, hi):
        j = members[idx]
        if j == k:
            continue
        x = signal[j] * gain[j] if times_gain else signal[j]
        if decoded_before(gain, j, k):
            stronger += x
        else:
            weaker += x
    return stronger, weaker


@njit(cache=True, inline="always")
def noma_ul_sinr_user(
    k: int,
    gain: np.ndarray,
    power_w: np.ndarray,
    members: np.ndarray,
    lo: int,
    hi: int,
    noise_w: float,
    sic_residual: float,
) -> float:
    """Uplink NOMA SINR of the active user ``k`` (module docstring), its co-channel users
    ``members[lo:hi]`` (the group of its subchannel in :func:`cochannel_groups`); the
    other arguments as for :func:`noma_ul_sinr_into`. O(size of k's group): what an
    incremental evaluation of a few users needs. (Group bounds rather than the
    subchannel arrays: each array handed to a compiled callee costs reference
    counting on every call.)"""
    stronger, weaker = _cochannel_sums(gain, power_w, True, members, lo, hi, k)
    return power_w[k] * gain[k] / (weaker + sic_residual * stronger + noise_w)


@njit(cache=True, inline="always")
def noma_dl_sinr_user(
    k: int,
    gain: np.ndarray,
    power_w: np.ndarray,
    members: np.ndarray,
    lo: int,
    hi: int,
    noise_w: float,
    sic_residual: float,
) -> float:
    """Downlink NOMA SINR of the active user ``k`` (as :func:`noma_ul_sinr_user`)."""
    stronger, weaker = _cochannel_sums(gain, power_w, False, members, lo, hi, k)
    g = gain[k]
    return power_w[k] * g / (g * stronger + sic_residual * g * weaker + noise_w)


@njit(cache=True, inline="always")
def oma_snr_user(
    k: int, gain: np.ndarray, power_w: np.ndarray, users_on: float, noise_w: float
) -> tuple[float, float]:
    """OMA ``(snr, m_n)`` of the active user ``k`` (as :func:`oma_snr`), ``users_on``
    = ``m_n``, the size of its subchannel's group in :func:`cochannel_groups`."""
    return power_w[k] * gain[k] * users_on / noise_w, users_on


@njit(cache=True)
def noma_ul_sinr_into(
    out: np.ndarray,
    gain: np.ndarray,
    power_w: np.ndarray,
    subchannel: np.ndarray,
    active: np.ndarray,
    noise_w: float,
    sic_residual: float,
    num_subchannels: int,
) -> np.ndarray:
    """Uplink NOMA SINR ``[K]`` with SIC at the BS, strongest gain decoded first,
    written into ``out`` (``[K]``, returned).

    Args:
        gain: ``[K]`` linear gain of each user on its uplink subchannel.
        power_w: ``[K]`` transmit power [W].
        subchannel: ``[K]`` int, uplink subchannel index.
        active: ``[K]`` bool, user transmits (``s_k < L_k``).
        noise_w: noise power per subchannel sigma^2 [W].
        sic_residual: psi >= 0, residual of already decoded users.
        num_subchannels: N.
    """
    members, start = cochannel_groups(subchannel, active, num_subchannels)
    for k in range(gain.shape[0]):
        out[k] = 0.0
        if active[k]:
            n = subchannel[k]
            out[k] = noma_ul_sinr_user(
                k, gain, power_w, members, start[n], start[n + 1], noise_w, sic_residual
            )
    return out


@njit(cache=True)
def noma_ul_sinr(
    gain: np.ndarray,
    power_w: np.ndarray,
    subchannel: np.ndarray,
    active: np.ndarray,
    noise_w: float,
    sic_residual: float,
    num_subchannels: int,
) -> np.ndarray:
    """Uplink NOMA SINR ``[K]`` (:func:`noma_ul_sinr_into` into a new array)."""
    out = np.zeros(gain.shape[0])
    return noma_ul_sinr_into(
        out, gain, power_w, subchannel, active, noise_w, sic_residual, num_subchannels
    )


@njit(cache=True)
def noma_dl_sinr_into(
    out: np.ndarray,
    gain: np.ndarray,
    power_w: np.ndarray,
    subchannel: np.ndarray,
    active: np.ndarray,
    noise_w: float,
    sic_residual: float,
    num_subchannels: int,
) -> np.ndarray:
    """Downlink NOMA SINR ``[K]`` with superposition coding and SIC at the users,
    written into ``out`` (``[K]``, returned).

    Args are as for :func:`noma_ul_sinr`; ``power_w`` is the BS power q_k for user k
    [W] and ``gain`` the BS-to-user gain on the user's downlink subchannel.
    """
    members, start = cochannel_groups(subchannel, active, num_subchannels)
    for k in range(gain.shape[0]):
        out[k] = 0.0
        if active[k]:
            n = subchannel[k]
            out[k] = noma_dl_sinr_user(
                k, gain, power_w, members, start[n], start[n + 1], noise_w, sic_residual
            )
    return out


@njit(cache=True)
def noma_dl_sinr(
    gain: np.ndarray,
    power_w: np.ndarray,
    subchannel: np.ndarray,
    active: np.ndarray,
    noise_w: float,
    sic_residual: float,
    num_subchannels: int,
) -> np.ndarray:
    """Downlink NOMA SINR ``[K]`` (:func:`noma_dl_sinr_into` into a new array)."""
    out = np.zeros(gain.shape[0])
    return noma_dl_sinr_into(
        out, gain, power_w, subchannel, active, noise_w, sic_residual, num_subchannels
    )


@njit(cache=True)
def oma_snr(
    gain: np.ndarray,
    power_w: np.ndarray,
    subchannel: np.ndarray,
    active: np.ndarray,
    noise_w: float,
    num_subchannels: int,
) -> tuple[np.ndarray, np.ndarray]:
    """OMA: equal bandwidth split among a subchannel's active users, no interference.

    Returns:
        ``(snr, users_on)``, each ``[K]``: the SNR ``p_k g_k / (sigma^2 / m_n)`` on the
        user's ``B / m_n`` share, and ``m_n``, the number of active users sharing the
        user's subchannel (the rate is ``(B / m_n) log2(1 + snr)``); 0 and 1 for
        inactive users.
    """
    k_users = gain.shape[0]
    _, start = cochannel_groups(subchannel, active, num_subchannels)
    snr = np.zeros(k_users)
    share = np.ones(k_users)
    for k in range(k_users):
        if active[k]:
            n = subchannel[k]
            users_on = float(start[n + 1] - start[n])
            snr[k], share[k] = oma_snr_user(k, gain, power_w, users_on, noise_w)
    return snr, share
