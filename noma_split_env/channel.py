"""Propagation: path loss, shadowing, Rayleigh fading, noise, and user mobility.

Pure NumPy, vectorized over users and subchannels; every random draw takes a passed-in
``np.random.Generator``. Shapes are given as ``[num_users, num_subchannels]``.

Sources: 3GPP TR 36.814 v9.0.0 Table A.2.1.1-2 (macro path loss
``128.1 + 37.6 log10(d/km)`` dB, 8 dB log-normal shadowing); Rayleigh block fading
with Gauss-Markov (AR(1)) time correlation as in e.g. Tse & Viswanath, "Fundamentals
of Wireless Communication", 2005, sections 2.4 and 3.1.
"""

from __future__ import annotations

import numpy as np

from noma_split_env.units import db_to_linear

__all__ = [
    "distance_for_pathloss_db",
    "drop_users",
    "gauss_markov",
    "large_scale_gain",
    "pathloss_db",
    "random_walk",
    "rayleigh_fading",
    "rayleigh_power",
    "reflect_into_annulus",
    "thermal_noise_w",
]


def pathloss_db(distance_m: np.ndarray, db_at_1km: float, exponent: float) -> np.ndarray:
    """Log-distance path loss ``PL = db_at_1km + 10 n log10(d / 1 km)`` [dB].

    Args:
        distance_m: ``[...]`` user-BS distance [m], > 0.
        db_at_1km: path loss at 1 km [dB] (128.1 for 3GPP urban macro).
        exponent: path-loss exponent n (3.76 for 3GPP urban macro).
    """
    return db_at_1km + 10.0 * exponent * np.log10(np.asarray(distance_m) / 1000.0)


def distance_for_pathloss_db(pathloss: np.ndarray, db_at_1km: float, exponent: float) -> np.ndarray:
    """Inverse of :func:`pathloss_db`: the distance [m] at path loss ``pathloss`` [dB]."""
    return 1000.0 * np.power(10.0, (np.asarray(pathloss) - db_at_1km) / (10.0 * exponent))


def large_scale_gain(
    distance_m: np.ndarray, shadowing_db: np.ndarray, db_at_1km: float, exponent: float
) -> np.ndarray:
    """Linear large-scale power gain ``beta = 10^(-(PL(d) - X)/10)``, ``X`` shadowing [dB]."""
    return db_to_linear(shadowing_db - pathloss_db(distance_m, db_at_1km, exponent))


def thermal_noise_w(noise_dbm_hz: float, bandwidth_hz: float, noise_figure_db: float) -> float:
    """Noise power ``sigma^2 = N0 B NF`` [W] from N0 [dBm/Hz], B [Hz] and NF [dB]."""
    return float(db_to_linear(noise_dbm_hz + noise_figure_db) * 1e-3 * bandwidth_hz)


def rayleigh_fading(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Independent complex Rayleigh fading ``h ~ CN(0, 1)``, so ``|h|^2 ~ Exp(1)``.

    Returns:
        ``shape`` complex128 array.
    """
    parts = rng.standard_normal((*shape, 2))  # (re, im) pairs: draws in element order
    return (parts[..., 0] + 1j * parts[..., 1]) * np.sqrt(0.5)


def rayleigh_power(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Independent Rayleigh fading power ``|h|^2 ~ Exp(1)``, drawn directly.

    The same distribution as ``abs(rayleigh_fading(...))**2`` at half the draws, for
    block fading without time correlation.
    """
    return rng.standard_exponential(shape)


def gauss_markov(
    innovations: np.ndarray, previous: np.ndarray | None, correlation: float
) -> np.ndarray:
    """AR(1) fading over the leading (time) axis: ``h_t = rho h_{t-1} + sqrt(1-rho^2) w_t``.

    Keeps the ``CN(0, 1)`` marginal and has lag-one correlation ``rho``.

    Args:
        innovations: ``[T, ...]`` i.i.d. ``CN(0, 1)`` draws ``w_t``.
        previous: ``[...]`` fading of the slot before ``t = 0``, or None to start
            the chain at ``h_0 = w_0``.
        correlation: rho in ``[0, 1)``; 0 returns ``innovations`` unchanged.

    Returns:
        ``[T, ...]`` fading (``innovations`` is updated in place and returned).
    """
    if correlation == 0.0:
        return innovations
    scale = np.sqrt(1.0 - correlation**2)
    prev = previous
    for t in range(innovations.shape[0]):
        if prev is not None:
            innovations[t] = correlation * prev + scale * innovations[t]
        prev = innovations[t]
    return innovations


def drop_users(
    rng: np.random.Generator, num_users: int, min_distance_m: float, radius_m: float
) -> np.ndarray:
    """``[num_users, 2]`` positions [m], uniform over the annulus ``min <= r <= radius``.

    Uniform in area: ``r = sqrt(U (R^2 - r0^2) + r0^2)``, angle uniform.
    """
    u, angle = rng.random((2, num_users))
    r = np.sqrt(u * (radius_m**2 - min_distance_m**2) + min_distance_m**2)
    angle = angle * 2.0 * np.pi
    return np.stack((r * np.cos(angle), r * np.sin(angle)), axis=-1)


def reflect_into_annulus(
    positions_m: np.ndarray, min_distance_m: float, radius_m: float
) -> np.ndarray:
    """Reflect positions ``[..., 2]`` radially back into ``min <= r <= radius`` [m].

    A point beyond the cell edge at radius ``r`` goes to ``2 R - r``, one inside the
    minimum distance to ``2 r0 - r``; the result is clipped to the annulus (for
    steps longer than the annulus is wide). A point exactly on the BS (no
    direction) is reflected to radius ``2 r0`` along the x axis.
    """
    r = np.hypot(positions_m[..., 0], positions_m[..., 1])
    folded = np.where(r > radius_m, 2.0 * radius_m - r, r)
    folded = np.where(folded < min_distance_m, 2.0 * min_distance_m - folded, folded)
    folded = np.clip(folded, min_distance_m, radius_m)
    safe = r > 0
    scale = np.where(safe, folded / np.where(safe, r, 1.0), 0.0)
    out = positions_m * scale[..., None]
    out[..., 0] += np.where(safe, 0.0, folded)
    return out


def random_walk(
    rng: np.random.Generator,
    start_m: np.ndarray,
    num_steps: int,
    step_m: float,
    min_distance_m: float,
    radius_m: float,
) -> np.ndarray:
    """``num_steps`` random-walk steps of length ``step_m`` [m] from ``start_m`` ``[K, 2]``.

    Each step goes in a uniform direction; a user leaving the annulus
    ``[min_distance_m, radius_m]`` is reflected back (:func:`reflect_into_annulus`).
    Vectorized over time: the path is a cumulative sum, recomputed only from the
    (rare) steps where some user hits the boundary.

    Returns:
        ``[num_steps, K, 2]`` positions [m] after each step.
    """
    angle = rng.random((num_steps, start_m.shape[0])) * (2.0 * np.pi)
    steps = step_m * np.stack((np.cos(angle), np.sin(angle)), axis=-1)
    out = np.empty_like(steps)
    position, t = start_m, 0
    while t < num_steps:
        path = position + np.cumsum(steps[t:], axis=0)
        r = np.hypot(path[..., 0], path[..., 1])
        outside = ((r > radius_m) | (r < min_distance_m)).any(axis=1)
        if not outside.any():
            out[t:] = path
            break
        hit = int(np.argmax(outside))
        out[t : t + hit] = path[:hit]
        position = reflect_into_annulus(path[hit], min_distance_m, radius_m)
        out[t + hit] = position
        t += hit + 1
    return out
