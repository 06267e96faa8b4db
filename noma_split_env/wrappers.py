"""Stable-Baselines3 views of the native ``Dict`` action, each decoding to it exactly.

SB3 does not support ``Dict`` action spaces. Two action wrappers give each algorithm
family a space it supports and map it back to the native action of
:mod:`noma_split_env.actions`:

* :class:`FlatBoxAction`: ``Box(-1, 1, (D,), float32)`` for SAC, TD3 and PPO;
* :class:`MultiDiscreteAction`: ``MultiDiscrete`` with ``power_levels`` power levels
  for PPO and A2C.

Both views flatten the native keys in one fixed order, ``K`` entries (one per user)
per key. Entry ``b K + k`` is user ``k``'s value of block ``b``:

=====  ===============  =====================  ==============================================
block  flat indices     native key             native space
=====  ===============  =====================  ==============================================
0      ``0 .. K-1``     ``split``              ``MultiDiscrete([L_max+1]*K)``
1      ``K .. 2K-1``    ``ul_subchannel``      ``MultiDiscrete([N]*K)``
2      ``2K .. 3K-1``   ``dl_subchannel``      ``MultiDiscrete([N]*K)``
3      ``3K .. 4K-1``   ``ul_power``           ``Box(0, 1, (K,))``, fraction of ``P_user_max``
4      ``4K .. 5K-1``   ``dl_power``           ``Box(0, 1, (K,))``, fraction of ``P_bs_max``
5      ``5K .. 6K-1``   ``edge_share``         ``Box(0, 1, (K,))``, only when
                                               ``scenario.allocate_edge_share``
=====  ===============  =====================  ==============================================

so ``D = 5K``, or ``6K`` with ``edge_share``. For the registered presets
(``L_max`` = deepest model in the mix):

========================  ====  ====  =========  ===========================
id                        K     N     L_max + 1  D (no edge_share / with it)
========================  ====  ====  =========  ===========================
``NomaSplit-tiny-v0``     2     1     12         10 / 12
``NomaSplit-v0``          4     2     22         20 / 24
``NomaSplit-dense-v0``    16    4     22         80 / 96
``NomaSplit-massive-v0``  64    16    22         320 / 384
========================  ====  ====  =========  ===========================

What the native values then mean (split scaled to each user's model, watts, the
downlink and edge-share normalization) is the decoding of :mod:`noma_split_env.actions`.

Flat Box view (:class:`FlatBoxAction`)
--------------------------------------
Every entry ``a`` is in ``[-1, 1]``.

==========  ===================================================  ==========================
block       decoding ``a -> native``                             encoding (``encode``)
==========  ===================================================  ==========================
discrete    ``i = min(floor((a + 1) / 2 * n), n - 1)``           bin centre
            (float64; ``n = L_max+1`` for ``split``, ``N``       ``(2i + 1) / n - 1``,
            for the subchannels)                                 rounded to float32
continuous  ``x = (a + 1) / 2``, rounded to float32              ``2x - 1``, to float32
==========  ===================================================  ==========================

The discrete rule cuts ``[-1, 1]`` into ``n`` equal bins, bin ``i`` being
``[2i/n - 1, 2(i+1)/n - 1)`` (up to rounding exactly at an edge) and the last one
closed at 1 (so ``-1 -> 0`` and ``1 -> n - 1``). Exactness of ``action(encode(x))``
for a native action ``x``:

* discrete entries: exact (the float32 bin centre is at most ``n 2^-26`` off the middle
  of its bin, far inside it for any ``n`` up to :data:`MAX_BINS`);
* continuous entries: exact for ``x`` in ``[0.25, 1]`` and for ``x = 0``; otherwise
  within :data:`FLOAT_TOLERANCE` ``= 2^-26`` (checked over every float32 in
  ``[0, 1]``). The flat vector is float32 and has step ``2^-24`` near ``a = -1``, too
  coarse for the finer float32 grid of ``x`` below 0.25.

A flat action with a NaN or an entry outside ``[-1, 1]`` raises ``ValueError`` naming
the index, its key and user, and the value: NaN is never clipped. SB3 never sends an
out-of-range action: PPO and A2C clip ``Box`` actions to the space (in rollouts and in
``predict``), SAC and TD3 squash them with ``tanh``. If you drive the wrapper yourself,
clip finite actions first (``np.clip(a, -1, 1)``).

MultiDiscrete view (:class:`MultiDiscreteAction`)
-------------------------------------------------
``MultiDiscrete(nvec)`` with ``nvec`` = ``L_max+1`` (block 0), ``N`` (blocks 1-2) and
``power_levels`` (blocks 3-5, default 8). Discrete blocks pass through as they are; a
continuous entry ``j`` decodes to level ``j / (power_levels - 1)`` (rounded to float32),
so ``0`` is off and ``power_levels - 1`` is full power / share. ``encode`` is the exact
inverse on that grid (``encode(action(y)) == y`` for every ``y`` in the space and
``action(encode(x)) == x`` for every native ``x`` whose fractions are grid levels);
an off-grid fraction raises ``ValueError`` unless ``encode(x, rounding="nearest")``
(the nearest level) or ``rounding="up"`` (the lowest level at or above it).
Out-of-range or non-integer entries raise ``ValueError`` naming the index.

Examples
--------
>>> import gymnasium as gym
>>> import numpy as np
>>> import noma_split_env
>>> from noma_split_env.wrappers import FlatBoxAction, MultiDiscreteAction
>>> env = FlatBoxAction(gym.make("NomaSplit-v0"))
>>> env.action_space
Box(-1.0, 1.0, (20,), float32)
>>> obs, info = env.reset(seed=0)
>>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
>>> flat = np.zeros(20, dtype=np.float32)
>>> flat[0:4] = [-1.0, -0.5, 0.5, 1.0]  # split of users 0..3: 22 bins
>>> flat[12:16] = [-1.0, 0.0, 0.5, 1.0]  # ul_power of users 0..3
>>> native = env.action(flat)
>>> native["split"], native["ul_subchannel"], native["ul_power"]
(array([ 0,  5, 16, 21]), array([1, 1, 1, 1]), array([0.  , 0.5 , 0.75, 1.  ], dtype=float32))
>>> env.encode(native)[0:4]  # bin centres
array([-0.95454544, -0.5       ,  0.5       ,  0.95454544], dtype=float32)
>>> all(np.array_equal(env.action(env.encode(native))[k], native[k]) for k in native)
True

>>> md = MultiDiscreteAction(gym.make("NomaSplit-tiny-v0"), power_levels=5)
>>> md.action_space
MultiDiscrete([12 12  1  1  1  1  5  5  5  5])
>>> md.action(np.array([11, 0, 0, 0, 0, 0, 4, 2, 0, 1]))["ul_power"]
array([1. , 0.5], dtype=float32)

With Stable-Baselines3 (``pip install -e .[rl]``)::

    from stable_baselines3 import PPO, SAC

    SAC("MlpPolicy", FlatBoxAction(gym.make("NomaSplit-v0"))).learn(10_000)
    PPO("MlpPolicy", MultiDiscreteAction(gym.make("NomaSplit-v0"))).learn(10_000)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = ["FLOAT_TOLERANCE", "MAX_BINS", "FlatBoxAction", "MultiDiscreteAction"]

FLOAT_TOLERANCE = 2.0**-26
"""Largest absolute error of a fraction through ``FlatBoxAction``'s
``action(encode(x))``: a quarter of a float32 ulp at 1, reached for ``x = 2^-26``; 0 for
``x`` in ``[0.25, 1]`` and ``x = 0`` (checked over every float32 in ``[0, 1]``)."""

MAX_BINS = 2**20
"""Most values a discrete native entry may take under :class:`FlatBoxAction`; below
this the float32 bin centres decode exactly."""

_DISCRETE_KEYS = ("split", "ul_subchannel", "dl_subchannel")
_CONTINUOUS_KEYS = ("ul_power", "dl_power", "edge_share")
_OPTIONAL_KEYS = frozenset({"edge_share"})
_ROUNDINGS = ("exact", "nearest", "up")

NativeAction = dict[str, np.ndarray]


class _Layout:
    """Where each native key sits in the flat vector, read off the native ``Dict`` space."""

    def __init__(self, space: spaces.Space[Any], owner: str) -> None:
        self.owner = owner
        required = [k for k in (*_DISCRETE_KEYS, *_CONTINUOUS_KEYS) if k not in _OPTIONAL_KEYS]
        if not isinstance(space, spaces.Dict) or not (
            set(required) <= set(space.spaces) <= set(_DISCRETE_KEYS + _CONTINUOUS_KEYS)
        ):
            raise ValueError(
                f"{owner}.env: got action space {space}, allowed: the native NomaSplit Dict "
                f"action with keys {required} (and optionally 'edge_share'); wrap the "
                "NomaSplit env directly, not another action wrapper"
            )
        self.discrete_keys = tuple(k for k in _DISCRETE_KEYS if k in space.spaces)
        self.continuous_keys = tuple(k for k in _CONTINUOUS_KEYS if k in space.spaces)
        self.keys = self.discrete_keys + self.continuous_keys
        self.num_users = int(space["split"].shape[0])
        self.bins: dict[str, int] = {}
        for key in self.discrete_keys:
            sub = space[key]
            if (
                not isinstance(sub, spaces.MultiDiscrete)
                or sub.shape != (self.num_users,)
                or np.any(sub.start != 0)
                or np.any(sub.nvec != sub.nvec[0])
                or not 1 <= sub.nvec[0] <= MAX_BINS
            ):
                raise ValueError(
                    f"{owner}.env: action space[{key!r}] is {sub}, allowed: MultiDiscrete "
                    f"of {self.num_users} equal sizes in 1..{MAX_BINS}, starting at 0"
                )
            self.bins[key] = int(sub.nvec[0])
        for key in self.continuous_keys:
            sub = space[key]
            if (
                not isinstance(sub, spaces.Box)
                or sub.shape != (self.num_users,)
                or np.any(sub.low != 0)
                or np.any(sub.high != 1)
            ):
                raise ValueError(
                    f"{owner}.env: action space[{key!r}] is {sub}, allowed: "
                    f"Box(0, 1, ({self.num_users},))"
                )
        k = self.num_users
        self.slices = {key: slice(b * k, (b + 1) * k) for b, key in enumerate(self.keys)}
        self.size = len(self.keys) * k

    def describe(self, index: int) -> str:
        """``"key, user k"`` for flat index ``index``."""
        return f"{self.keys[index // self.num_users]}, user {index % self.num_users}"

    def checked_native(self, native: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """``native`` as int64 (discrete) and float32 (fractions) arrays; ``ValueError``
        naming the key and user if it is not a valid native action."""
        where = f"{self.owner}.encode"
        if not isinstance(native, Mapping) or set(native.keys()) != set(self.keys):
            got = sorted(native.keys()) if isinstance(native, Mapping) else type(native).__name__
            raise ValueError(
                f"{where}: got keys {got}, allowed: a dict with exactly the keys {list(self.keys)}"
            )
        out: dict[str, np.ndarray] = {}
        for key in self.keys:
            arr = np.asarray(native[key])
            discrete = key in self.bins
            allowed = (
                f"{self.num_users} integers in 0..{self.bins[key] - 1}"
                if discrete
                else f"{self.num_users} numbers in [0, 1]"
            )
            if arr.shape != (self.num_users,) or arr.dtype.kind not in (
                "iu" if discrete else "fiu"
            ):
                raise ValueError(
                    f"{where}: action[{key!r}]: got {native[key]!r}, allowed: {allowed}"
                )
            if discrete:
                ok = (arr >= 0) & (arr < self.bins[key])
            else:
                arr = arr.astype(np.float32)
                ok = (arr >= 0) & (arr <= 1)
            if not ok.all():
                k = int(np.argmin(ok))
                raise ValueError(
                    f"{where}: action[{key!r}][{k}]: got {arr[k].item()!r}, allowed: {allowed}"
                )
            out[key] = arr.astype(np.int64) if discrete else arr
        return out


class FlatBoxAction(
    gym.ActionWrapper[np.ndarray, np.ndarray, NativeAction], gym.utils.RecordConstructorArgs
):
    """The native action as one ``Box(-1, 1, (D,), float32)`` (SAC, TD3, PPO).

    Layout and decoding: see the module docstring. ``action`` decodes a flat vector,
    ``encode`` is its inverse (bin centres for discrete entries).

    Args:
        env: A NomaSplit env (or a wrapper of it) whose action space is the native
            ``Dict``.

    Attributes:
        slices: Native key -> ``slice`` of the flat vector holding its ``K`` entries.
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ActionWrapper.__init__(self, env)
        self._layout = _Layout(env.action_space, type(self).__name__)
        self.slices = dict(self._layout.slices)
        self.action_space = spaces.Box(-1.0, 1.0, (self._layout.size,), dtype=np.float32)

    def action(self, action: np.ndarray) -> NativeAction:
        """The native action encoded by the flat vector ``action``; ``ValueError`` on a
        wrong shape or dtype, a NaN or an entry outside ``[-1, 1]``."""
        flat = self._checked(action)
        native: NativeAction = {}
        for key, n in self._layout.bins.items():
            half = (flat[self.slices[key]] + 1.0) * 0.5
            native[key] = np.minimum(np.floor(half * n), n - 1).astype(np.int64)
        for key in self._layout.continuous_keys:
            native[key] = ((flat[self.slices[key]] + 1.0) * 0.5).astype(np.float32)
        return native

    def encode(self, native: Mapping[str, Any]) -> np.ndarray:
        """The flat vector that decodes to ``native`` (exactly for discrete entries, within
        :data:`FLOAT_TOLERANCE` for fractions); ``ValueError`` if ``native`` is invalid."""
        checked = self._layout.checked_native(native)
        flat = np.empty(self._layout.size, dtype=np.float64)
        for key, n in self._layout.bins.items():
            flat[self.slices[key]] = (2 * checked[key] + 1) / n - 1.0
        for key in self._layout.continuous_keys:
            flat[self.slices[key]] = 2.0 * checked[key].astype(np.float64) - 1.0
        return flat.astype(np.float32)

    def _checked(self, action: Any) -> np.ndarray:
        """``action`` as float64 of shape ``(D,)`` with every entry in ``[-1, 1]``."""
        arr = np.asarray(action)
        size = self._layout.size
        if arr.shape != (size,) or arr.dtype.kind not in "fiu":
            raise ValueError(
                f"FlatBoxAction: got an array of shape {arr.shape} and dtype {arr.dtype}, "
                f"allowed: a float array of shape ({size},) in [-1, 1]"
            )
        flat = arr.astype(np.float64)
        ok = (flat >= -1.0) & (flat <= 1.0)  # False for NaN
        if not ok.all():
            i = int(np.argmin(ok))
            raise ValueError(
                f"FlatBoxAction: action[{i}] ({self._layout.describe(i)}): got "
                f"{flat[i].item()!r}, allowed: a number in [-1, 1] (NaN is never clipped; "
                "clip finite actions to the box first, as SB3 does)"
            )
        return flat


class MultiDiscreteAction(
    gym.ActionWrapper[np.ndarray, np.ndarray, NativeAction], gym.utils.RecordConstructorArgs
):
    """The native action as one ``MultiDiscrete`` with quantized fractions (PPO, A2C).

    Layout and decoding: see the module docstring. Discrete entries pass through; a
    fraction entry ``j`` decodes to ``levels[j] = j / (power_levels - 1)``.

    Args:
        env: A NomaSplit env (or a wrapper of it) whose action space is the native
            ``Dict``.
        power_levels: Number of equally spaced levels on ``[0, 1]`` for every power
            (and edge-share) entry, ``>= 2`` (default 8).

    Attributes:
        slices: Native key -> ``slice`` of the vector holding its ``K`` entries.
        levels: The ``power_levels`` fractions, float32, ``levels[0] = 0``,
            ``levels[-1] = 1``.
    """

    def __init__(self, env: gym.Env[Any, Any], power_levels: int = 8) -> None:
        if (
            not isinstance(power_levels, int | np.integer)
            or isinstance(power_levels, bool)
            or power_levels < 2
        ):
            raise ValueError(
                f"MultiDiscreteAction.power_levels: got {power_levels!r}, allowed: an "
                "integer >= 2 (levels j / (power_levels - 1) on [0, 1])"
            )
        gym.utils.RecordConstructorArgs.__init__(self, power_levels=power_levels)
        gym.ActionWrapper.__init__(self, env)
        self._layout = _Layout(env.action_space, type(self).__name__)
        self.power_levels = int(power_levels)
        self.slices = dict(self._layout.slices)
        self.levels = (np.arange(self.power_levels) / (self.power_levels - 1)).astype(np.float32)
        k = self._layout.num_users
        sizes = [self._layout.bins.get(key, self.power_levels) for key in self._layout.keys]
        self._nvec = np.repeat(np.array(sizes, dtype=np.int64), k)
        self.action_space = spaces.MultiDiscrete(self._nvec)

    def action(self, action: np.ndarray) -> NativeAction:
        """The native action encoded by ``action``; ``ValueError`` on a wrong shape, a
        non-integer dtype or an entry out of range."""
        md = self._checked(action)
        native: NativeAction = {key: md[self.slices[key]].copy() for key in self._layout.bins}
        for key in self._layout.continuous_keys:
            native[key] = self.levels[md[self.slices[key]]]
        return native

    def encode(self, native: Mapping[str, Any], *, rounding: str = "exact") -> np.ndarray:
        """The vector that decodes to ``native``.

        Fractions are compared after rounding to float32 (the native dtype). With
        ``rounding="exact"`` (the default) they must be grid levels (``ValueError``
        naming the entry otherwise); ``"nearest"`` takes the nearest level (ties to the
        even index); ``"up"`` takes the lowest level at or above the fraction, so a
        power that is on stays on (imitating a solver: a small downlink power rounded
        down to 0 would stall that user's result).
        """
        if rounding not in _ROUNDINGS:
            raise ValueError(
                f"MultiDiscreteAction.encode.rounding: got {rounding!r}, allowed: one of "
                f"{', '.join(_ROUNDINGS)}"
            )
        checked = self._layout.checked_native(native)
        md = np.empty(self._layout.size, dtype=np.int64)
        for key in self._layout.bins:
            md[self.slices[key]] = checked[key]
        top = self.power_levels - 1
        for key in self._layout.continuous_keys:
            x = checked[key]
            if rounding == "up":
                j = np.searchsorted(self.levels, x, side="left").astype(np.int64)
            else:
                j = np.clip(np.rint(x.astype(np.float64) * top), 0, top).astype(np.int64)
            off = self.levels[j] != x
            if rounding == "exact" and off.any():
                k = int(np.argmax(off))
                raise ValueError(
                    f"MultiDiscreteAction.encode: action[{key!r}][{k}]: got {x[k].item()!r}, "
                    f"allowed: one of the {self.power_levels} levels j / {top} (as float32), "
                    "or pass rounding='nearest' or 'up'"
                )
            md[self.slices[key]] = j
        return md

    def _checked(self, action: Any) -> np.ndarray:
        """``action`` as int64 of shape ``(D,)`` with every entry in ``0..nvec-1``."""
        arr = np.asarray(action)
        size = self._layout.size
        if arr.shape != (size,) or arr.dtype.kind not in "iu":
            raise ValueError(
                f"MultiDiscreteAction: got an array of shape {arr.shape} and dtype {arr.dtype}, "
                f"allowed: an integer array of shape ({size},) in 0..nvec-1"
            )
        md = arr.astype(np.int64)
        ok = (md >= 0) & (md < self._nvec)
        if not ok.all():
            i = int(np.argmin(ok))
            raise ValueError(
                f"MultiDiscreteAction: action[{i}] ({self._layout.describe(i)}): got "
                f"{md[i].item()!r}, allowed: an integer in 0..{self._nvec[i] - 1}"
            )
        return md
