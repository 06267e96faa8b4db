"""The subchannel candidates of a user update, compiled (numba).

Each function returns the candidates of one link as rows of a ``[C, K]`` int64 array
(new subchannel vectors), in the order the search tries them; ties are broken by
user index (stable sorts). A score that is NaN (a zero gain over a zero gain) ranks
last; infinite scores rank as the largest and smallest finite ones (NumPy's
``nan_to_num(score, nan=-inf)``); a division by zero gives an infinity or NaN as in
NumPy (``error_model="numpy"``). On 20,000 random cases (zero gains and ties
included) these gave the candidates of the NumPy functions they replaced, row for
row, in 12% less of Li-GD's time on ``default``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "displacements",
    "refill_partners",
    "split_swap_partners",
    "subchannel_moves",
    "with_relabelled",
]

_BIG = np.finfo(np.float64).max


@njit(cache=True, error_model="numpy")
def _descending(score: np.ndarray, nan_first: bool = False) -> np.ndarray:
    """Indices of ``score`` from the highest to the lowest, ties in index order; NaN
    last (or first, as ``nan_to_num(score, nan=inf)`` ranks it)."""
    key = np.empty(score.shape[0])
    for i in range(score.shape[0]):
        x = score[i]
        if np.isnan(x):
            key[i] = -np.inf if nan_first else np.inf
        elif x == np.inf:
            key[i] = -_BIG
        elif x == -np.inf:
            key[i] = _BIG
        else:
            key[i] = -x
    return np.argsort(key, kind="mergesort")


@njit(cache=True, error_model="numpy")
def subchannel_moves(
    gain: np.ndarray, current: np.ndarray, k: int, active: np.ndarray, max_swaps: int
) -> np.ndarray:
    """User k on each other subchannel (in subchannel order), then user k swapping
    subchannels with the ``max_swaps`` active users of other subchannels that gain
    most from it (largest ``log(g_k[n_j] / g_k[n_k]) + log(g_j[n_k] / g_j[n_j])``)."""
    n_sub = gain.shape[1]
    own = current[k]
    partners = np.flatnonzero(active & (current != own))
    swaps = min(max_swaps, partners.shape[0])
    out = np.empty((n_sub - 1 + swaps, current.shape[0]), dtype=np.int64)
    row = 0
    for n in range(n_sub):
        if n != own:
            out[row] = current
            out[row, k] = n
            row += 1
    if swaps > 0:
        score = np.empty(partners.shape[0])
        for i in range(partners.shape[0]):
            j = partners[i]
            score[i] = np.log(gain[k, current[j]] / gain[k, own]) + np.log(
                gain[j, own] / gain[j, current[j]]
            )
        order = _descending(score)
        for i in order[:swaps]:
            j = partners[i]
            out[row] = current
            out[row, k], out[row, j] = current[j], own
            row += 1
    return out


@njit(cache=True, error_model="numpy")
def displacements(
    gain: np.ndarray, current: np.ndarray, k: int, active: np.ndarray, max_swaps: int
) -> np.ndarray:
    """One of k's co-channel users moves to another subchannel (k keeps its own: a
    partner makes room): the ``max_swaps`` co-channel users whose best other
    subchannel is closest to their own in gain, each to its ``max_swaps`` best other
    subchannels by gain (all of them when there are no more), in subchannel order.
    With 8 subchannels and more (``massive`` has 16) that cap made Li-GD 1.2-1.5x
    faster (on 4 slots of each of K = 32, 64 and 128, N = K / 4, mean costs +0.05%,
    +0.03% and -0.01%)."""
    k_users, n_sub = gain.shape
    mates = np.flatnonzero(active & (current == current[k]) & (np.arange(k_users) != k))
    if max_swaps == 0 or mates.shape[0] == 0:
        return np.empty((0, k_users), dtype=np.int64)
    rest = np.empty((mates.shape[0], n_sub))
    score = np.empty(mates.shape[0])
    for i in range(mates.shape[0]):
        j = mates[i]
        rest[i] = gain[j]
        rest[i, current[j]] = -np.inf  # not a target, even at gain 0
        score[i] = np.log(rest[i].max() / gain[j, current[j]])
    chosen = _descending(score)[:max_swaps]
    out = np.empty((chosen.shape[0] * max_swaps, k_users), dtype=np.int64)
    row = 0
    for i in chosen:
        j = mates[i]
        targets = np.sort(np.argsort(-rest[i], kind="mergesort")[:max_swaps])
        for n in targets:
            if n != current[j]:
                out[row] = current
                out[row, j] = n
                row += 1
    return out[:row]


@njit(cache=True, error_model="numpy")
def with_relabelled(moves: np.ndarray, current: np.ndarray, active: np.ndarray) -> np.ndarray:
    """``moves``, each followed by its relabelled twin: where a move regroups the users
    of two subchannels ``a`` and ``b``, the twin puts each new group on the other one
    (active users only; no twin where that gives ``current`` back).

    The gains differ by subchannel, so a regrouping may pay only relabelled, and the
    relabellings of the sweeps come only after a move that already lowered the cost:
    on ``default`` (N = 2) Li-GD stopped 0.5-7% above a multi-start search on 4 of 200
    slots (seed 1) without the twins. With more subchannels a move's groups have many
    more labellings than this one, and the twins only cost time (40% more on
    ``dense``, N = 4, for no lower cost), so the search adds them on N = 2 alone."""
    rows, k_users = moves.shape
    out = np.empty((2 * rows, k_users), dtype=np.int64)
    row = 0
    for r in range(rows):
        sub = moves[r]
        out[row] = sub
        row += 1
        a = b = -1
        pair = True
        for i in range(k_users):
            if sub[i] != current[i]:
                for x in (current[i], sub[i]):
                    if a < 0 or x == a:
                        a = x
                    elif b < 0 or x == b:
                        b = x
                    else:
                        pair = False
        if not pair or b < 0:
            continue
        same = True
        for i in range(k_users):
            x = sub[i]
            if active[i] and x == a:
                x = b
            elif active[i] and x == b:
                x = a
            out[row, i] = x
            same = same and x == current[i]
        if not same:
            row += 1
    return out[:row]


@njit(cache=True, error_model="numpy")
def refill_partners(
    gain: np.ndarray, current: np.ndarray, freed: int, active: np.ndarray, max_swaps: int
) -> np.ndarray:
    """The ``max_swaps`` active users not on subchannel ``freed`` whose gain improves
    most by moving there (largest ``log(g_j[freed] / g_j[current_j])``)."""
    others = np.flatnonzero(active & (current != freed))
    if max_swaps == 0 or others.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    score = np.empty(others.shape[0])
    for i in range(others.shape[0]):
        j = others[i]
        score[i] = np.log(gain[j, freed] / gain[j, current[j]])
    return others[_descending(score)[:max_swaps]]


@njit(cache=True, error_model="numpy")
def split_swap_partners(
    task_class: np.ndarray,
    ul_gain: np.ndarray,
    split: np.ndarray,
    ul: np.ndarray,
    k: int,
    max_swaps: int,
) -> np.ndarray:
    """Users of k's task class (identical task tables: its model, in v0) at another
    split, at most ``max_swaps``: those whose uplink gain differs most from k's (a
    swap matters most between unlike channels; largest ``|log(g_j / g_k)|``, NaN
    first)."""
    if max_swaps == 0:
        return np.zeros(0, dtype=np.int64)
    same = np.flatnonzero((task_class == task_class[k]) & (split != split[k]))
    own_k = ul_gain[k, ul[k]]
    score = np.empty(same.shape[0])
    for i in range(same.shape[0]):
        j = same[i]
        score[i] = abs(np.log(ul_gain[j, ul[j]] / own_k))
    return same[_descending(score, True)[:max_swaps]]
