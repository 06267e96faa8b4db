"""SB3 action views: checker, exact decoding and encoding, errors, determinism, training.

Every registered id is checked (``NomaSplit-massive-v0`` included: the SB3 checker takes
about 25 ms on it). The tiny PPO and SAC runs need stable-baselines3 and torch
(``pytest.importorskip``) and take a few seconds.
"""

from __future__ import annotations

import doctest
import functools
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import noma_split_env
from noma_split_env import wrappers
from noma_split_env.wrappers import FLOAT_TOLERANCE, FlatBoxAction, MultiDiscreteAction

VIEWS = (FlatBoxAction, MultiDiscreteAction)
ENV_IDS = tuple(noma_split_env.ENV_IDS)

# (id, gym.make overrides): every preset, plus edge_share in the action.
SCENARIOS = (
    ("NomaSplit-tiny-v0", ()),
    ("NomaSplit-v0", ()),
    ("NomaSplit-dense-v0", ()),
    ("NomaSplit-v0", (("allocate_edge_share", True),)),
    ("NomaSplit-tiny-v0", (("allocate_edge_share", True),)),
)
SCENARIO_IDS = [f"{eid}{'+edge' if kw else ''}" for eid, kw in SCENARIOS]

NATIVE_KEYS = ("split", "ul_subchannel", "dl_subchannel", "ul_power", "dl_power", "edge_share")
FRACTION_KEYS = ("ul_power", "dl_power", "edge_share")


@functools.cache
def make_base(env_id: str, overrides: tuple[tuple[str, object], ...] = ()) -> gym.Env:
    """One cached env per scenario (hypothesis forbids function-scoped fixtures)."""
    return gym.make(env_id, **dict(overrides))


@functools.cache
def flat_view(env_id: str, overrides: tuple[tuple[str, object], ...] = ()) -> FlatBoxAction:
    return FlatBoxAction(make_base(env_id, overrides))


@functools.cache
def md_view(
    env_id: str, overrides: tuple[tuple[str, object], ...] = (), power_levels: int = 8
) -> MultiDiscreteAction:
    return MultiDiscreteAction(make_base(env_id, overrides), power_levels=power_levels)


def sb3_check_env_warnings(env: gym.Env) -> list[str]:
    """The messages of every warning SB3's ``check_env(env, warn=True)`` emits."""
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, warn=True)
    return [str(w.message) for w in caught]


def assert_native_equal(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for key in expected:
        assert got[key].dtype == (np.float32 if key in FRACTION_KEYS else np.int64), key
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def native_actions(space: gym.spaces.Dict, fractions: st.SearchStrategy) -> st.SearchStrategy:
    """Native actions of ``space``: any valid integers, fractions drawn from ``fractions``."""
    k = space["split"].shape[0]
    entries = {}
    for key, sub in space.spaces.items():
        if isinstance(sub, gym.spaces.MultiDiscrete):
            n = int(sub.nvec[0])
            entries[key] = st.lists(st.integers(0, n - 1), min_size=k, max_size=k).map(
                lambda v: np.array(v, dtype=np.int64)
            )
        else:
            entries[key] = st.lists(fractions, min_size=k, max_size=k).map(
                lambda v: np.array(v, dtype=np.float32)
            )
    return st.fixed_dictionaries(entries)


FLOAT32_FRACTIONS = st.floats(0.0, 1.0, width=32)


# ------------------------------------------------------------------ SB3 env checker
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("edge_share", [False, True])
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env_has_no_warning(view, env_id, edge_share):
    pytest.importorskip("stable_baselines3")
    env = view(gym.make(env_id, allocate_edge_share=edge_share))
    assert sb3_check_env_warnings(env) == []


# ------------------------------------------------------------------ spaces and layout
@pytest.mark.parametrize(("env_id", "overrides"), SCENARIOS, ids=SCENARIO_IDS)
def test_layout_follows_the_documented_table(env_id, overrides):
    base = make_base(env_id, overrides).unwrapped
    sc = base.scenario
    k, n, depth = sc.num_users, sc.num_subchannels, sc.model_table.max_layers + 1
    keys = [key for key in NATIVE_KEYS if key in base.action_space.spaces]
    assert len(keys) == (6 if sc.allocate_edge_share else 5)

    flat = flat_view(env_id, overrides)
    assert flat.action_space == gym.spaces.Box(-1, 1, (len(keys) * k,), np.float32)
    md = md_view(env_id, overrides, 5)
    sizes = {"split": depth, "ul_subchannel": n, "dl_subchannel": n}
    expected_nvec = np.repeat([sizes.get(key, 5) for key in keys], k)
    np.testing.assert_array_equal(md.action_space.nvec, expected_nvec)
    for view in (flat, md):
        assert list(view.slices) == keys
        assert view.slices == {key: slice(b * k, (b + 1) * k) for b, key in enumerate(keys)}


def test_documented_sizes_of_the_registered_ids():
    expected_d = {
        "NomaSplit-tiny-v0": 10,
        "NomaSplit-v0": 20,
        "NomaSplit-dense-v0": 80,
        "NomaSplit-massive-v0": 320,
    }
    assert {eid: flat_view(eid).action_space.shape[0] for eid in ENV_IDS} == expected_d


def test_docstring_examples_run():
    result = doctest.testmod(wrappers, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------ FlatBoxAction exactness
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 12, 16, 22, 100, 1001])
def test_flat_discrete_bin_centres_decode_exactly_and_bins_are_the_rule(n):
    i = np.arange(n)
    centres = ((2 * i + 1) / n - 1).astype(np.float32)
    a = centres.astype(np.float64)
    np.testing.assert_array_equal(np.minimum(np.floor((a + 1) / 2 * n), n - 1), i)
    # bin i is [2i/n - 1, 2(i+1)/n - 1): just inside both of its edges decodes to i
    for inside in (2 * i / n - 1 + 1e-9, 2 * (i + 1) / n - 1 - 1e-9):
        np.testing.assert_array_equal(np.minimum(np.floor((inside + 1) / 2 * n), n - 1), i)
    view = flat_view("NomaSplit-v0")  # the wrapper applies this rule: split has n = 22
    flat = np.zeros(20, dtype=np.float32)
    flat[:4] = ((2 * np.arange(4) + 1) / 22 - 1).astype(np.float32)
    np.testing.assert_array_equal(view.action(flat)["split"], np.arange(4))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize(("env_id", "overrides"), SCENARIOS, ids=SCENARIO_IDS)
def test_flat_decode_of_encode_is_exact_on_grid_values(env_id, overrides, data):
    """Discrete entries exactly, fractions exactly for x in {0} U [0.25, 1]."""
    view = flat_view(env_id, overrides)
    exact = st.one_of(st.just(0.0), st.floats(0.25, 1.0, width=32))
    native = data.draw(native_actions(view.env.action_space, exact))
    flat = view.encode(native)
    assert flat.dtype == np.float32 and view.action_space.contains(flat)
    assert_native_equal(view.action(flat), native)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize(("env_id", "overrides"), SCENARIOS, ids=SCENARIO_IDS)
def test_flat_decode_of_encode_is_within_float32_tolerance(env_id, overrides, data):
    view = flat_view(env_id, overrides)
    native = data.draw(native_actions(view.env.action_space, FLOAT32_FRACTIONS))
    decoded = view.action(view.encode(native))
    assert view.env.action_space.contains(decoded)
    for key, value in native.items():
        if key in FRACTION_KEYS:
            assert decoded[key].dtype == np.float32
            np.testing.assert_allclose(decoded[key], value, rtol=0, atol=FLOAT_TOLERANCE)
        else:
            np.testing.assert_array_equal(decoded[key], value, err_msg=key)


@pytest.mark.parametrize(("env_id", "overrides"), SCENARIOS, ids=SCENARIO_IDS)
def test_flat_decode_of_encode_on_sampled_native_actions(env_id, overrides):
    view = flat_view(env_id, overrides)
    space = view.env.action_space
    space.seed(0)
    for _ in range(200):
        native = space.sample()
        decoded = view.action(view.encode(native))
        for key, value in native.items():
            tol = FLOAT_TOLERANCE if key in FRACTION_KEYS else 0
            np.testing.assert_allclose(decoded[key], value, rtol=0, atol=tol, err_msg=key)


def test_flat_float_tolerance_is_attained_and_needed():
    """Below 0.25 the float32 flat vector cannot carry every float32 fraction."""
    view = flat_view("NomaSplit-tiny-v0")
    native = {key: np.zeros(2, dtype=np.int64) for key in view.slices if "power" not in key}
    native["ul_power"] = np.array([2**-26, 1e-30], dtype=np.float32)
    native["dl_power"] = np.array([0.25, 0.25 + 2**-25], dtype=np.float32)
    decoded = view.action(view.encode(native))
    np.testing.assert_array_equal(decoded["ul_power"], [0.0, 0.0])  # off by x itself
    assert np.abs(decoded["ul_power"] - native["ul_power"]).max() == FLOAT_TOLERANCE
    np.testing.assert_array_equal(decoded["dl_power"], native["dl_power"])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize(("env_id", "overrides"), SCENARIOS, ids=SCENARIO_IDS)
def test_flat_decode_is_total_on_the_box_and_encode_projects_to_bin_centres(
    env_id, overrides, data
):
    view = flat_view(env_id, overrides)
    d = view.action_space.shape[0]
    flat = np.array(
        data.draw(st.lists(st.floats(-1.0, 1.0, width=32), min_size=d, max_size=d)),
        dtype=np.float32,
    )
    native = view.action(flat)
    assert view.env.action_space.contains(native)
    again = view.action(view.encode(native))
    for key in native:
        if key in FRACTION_KEYS:
            np.testing.assert_allclose(again[key], native[key], rtol=0, atol=FLOAT_TOLERANCE)
        else:
            np.testing.assert_array_equal(again[key], native[key])


def test_flat_decode_endpoints_and_fraction_map():
    view = flat_view("NomaSplit-v0")  # K=4, N=2, L_max+1=22
    flat = np.zeros(20, dtype=np.float32)
    flat[view.slices["split"]] = [-1.0, 1.0, -1.0 + 2 / 22 + 1e-6, 1.0 - 1e-6]
    flat[view.slices["ul_subchannel"]] = [-1.0, -1e-7, 0.0, 1.0]
    flat[view.slices["dl_power"]] = [-1.0, -0.5, 0.0, 1.0]
    native = view.action(flat)
    np.testing.assert_array_equal(native["split"], [0, 21, 1, 21])
    np.testing.assert_array_equal(native["ul_subchannel"], [0, 0, 1, 1])
    np.testing.assert_array_equal(native["dl_power"], np.float32([0.0, 0.25, 0.5, 1.0]))


# ------------------------------------------------------------------ FlatBoxAction errors
@pytest.mark.parametrize(
    ("index", "value", "where"),
    [
        (0, np.nan, "split, user 0"),
        (5, np.nan, "ul_subchannel, user 1"),
        (13, 1.0000001, "ul_power, user 1"),
        (19, -1.5, "dl_power, user 3"),
        (7, np.inf, "ul_subchannel, user 3"),
    ],
)
def test_flat_rejects_nan_and_out_of_box_entries_naming_the_index(index, value, where):
    view = flat_view("NomaSplit-v0")
    flat = np.zeros(20, dtype=np.float64)
    flat[index] = value
    with pytest.raises(ValueError, match=rf"action\[{index}\] \({where}\): got {value!r}"):
        view.action(flat)


@pytest.mark.parametrize(
    "bad", [np.zeros(19, np.float32), np.zeros((1, 20), np.float32), np.array(["x"] * 20)]
)
def test_flat_rejects_wrong_shape_or_dtype(bad):
    with pytest.raises(ValueError, match=r"allowed: a float array of shape \(20,\)"):
        flat_view("NomaSplit-v0").action(bad)


def test_flat_step_with_nan_raises_instead_of_clipping():
    env = FlatBoxAction(gym.make("NomaSplit-v0"))
    env.reset(seed=0)
    flat = np.zeros(20, dtype=np.float32)
    flat[3] = np.nan
    with pytest.raises(ValueError, match=r"action\[3\] \(split, user 3\): got nan"):
        env.step(flat)


# ------------------------------------------------------------------ MultiDiscreteAction
@pytest.mark.parametrize("power_levels", [2, 3, 8, 11, 256])
def test_md_levels_are_equally_spaced_on_the_unit_interval(power_levels):
    view = md_view("NomaSplit-tiny-v0", (), power_levels)
    j = np.arange(power_levels)
    np.testing.assert_array_equal(view.levels, (j / (power_levels - 1)).astype(np.float32))
    assert view.levels[0] == 0.0 and view.levels[-1] == 1.0


@pytest.mark.parametrize("power_levels", [2, 8, 11])
@pytest.mark.parametrize(("env_id", "overrides"), SCENARIOS, ids=SCENARIO_IDS)
def test_md_encode_of_decode_is_the_identity_on_every_index(env_id, overrides, power_levels):
    view = md_view(env_id, overrides, power_levels)
    nvec = view.action_space.nvec
    # every value of every entry, in rows that cycle through each entry's range
    rows = np.arange(int(nvec.max()))[:, None] % nvec[None, :]
    for y in rows:
        native = view.action(y)
        assert view.env.action_space.contains(native)
        np.testing.assert_array_equal(view.encode(native), y)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize(("env_id", "overrides"), SCENARIOS, ids=SCENARIO_IDS)
def test_md_round_trips_both_ways(env_id, overrides, data):
    power_levels = data.draw(st.integers(2, 64))
    view = md_view(env_id, overrides, power_levels)
    y = np.array([data.draw(st.integers(0, int(n) - 1)) for n in view.action_space.nvec])
    np.testing.assert_array_equal(view.encode(view.action(y)), y)
    grid = st.sampled_from([float(v) for v in view.levels])
    native = data.draw(native_actions(view.env.action_space, grid))
    assert_native_equal(view.action(view.encode(native)), native)


def test_md_encode_rejects_off_grid_fractions_unless_rounding():
    view = md_view("NomaSplit-v0", (), 5)  # levels 0, .25, .5, .75, 1
    native = view.action(np.zeros(20, dtype=np.int64))
    native["dl_power"] = np.float32([0.0, 0.3, 0.5, 0.9])
    with pytest.raises(ValueError, match=r"action\['dl_power'\]\[1\]: got 0.3"):
        view.encode(native)
    md = view.encode(native, rounding="nearest")
    np.testing.assert_array_equal(md[view.slices["dl_power"]], [0, 1, 2, 4])
    native["dl_power"] = np.float32([0.0, 0.01, 0.5, 0.76])
    md = view.encode(native, rounding="up")  # a power that is on stays on
    np.testing.assert_array_equal(md[view.slices["dl_power"]], [0, 1, 2, 4])
    with pytest.raises(ValueError, match=r"rounding: got 'down', allowed: one of exact"):
        view.encode(native, rounding="down")
    # float64 inputs are compared after rounding to float32, the native dtype
    native["dl_power"] = np.array([0.0, 1 / 4, 1 / 2, 1.0])
    np.testing.assert_array_equal(view.encode(native)[view.slices["dl_power"]], [0, 1, 2, 4])


@pytest.mark.parametrize(
    ("index", "value", "where", "allowed"),
    [
        (0, 22, "split, user 0", "0..21"),
        (6, -1, "ul_subchannel, user 2", "0..1"),
        (15, 8, "ul_power, user 3", "0..7"),
    ],
)
def test_md_rejects_out_of_range_entries_naming_the_index(index, value, where, allowed):
    md = np.zeros(20, dtype=np.int64)
    md[index] = value
    with pytest.raises(
        ValueError, match=rf"action\[{index}\] \({where}\): got {value}, allowed: .*{allowed}"
    ):
        md_view("NomaSplit-v0").action(md)


@pytest.mark.parametrize("bad", [np.zeros(20, np.float32), np.zeros(21, np.int64)])
def test_md_rejects_wrong_shape_or_dtype(bad):
    with pytest.raises(ValueError, match=r"allowed: an integer array of shape \(20,\)"):
        md_view("NomaSplit-v0").action(bad)


@pytest.mark.parametrize("power_levels", [1, 0, -3, 2.0, True, "8"])
def test_md_power_levels_is_validated(power_levels):
    with pytest.raises(ValueError, match=r"MultiDiscreteAction\.power_levels: got .*>= 2"):
        MultiDiscreteAction(make_base("NomaSplit-tiny-v0"), power_levels=power_levels)


# ------------------------------------------------------------------ shared behaviour
@pytest.mark.parametrize("view", VIEWS)
def test_encode_rejects_invalid_native_actions(view):
    wrapped = view(make_base("NomaSplit-v0"))
    space = make_base("NomaSplit-v0").action_space
    space.seed(0)
    native = space.sample()
    with pytest.raises(ValueError, match=r"encode: got keys"):
        wrapped.encode({k: v for k, v in native.items() if k != "split"})
    with pytest.raises(ValueError, match=r"encode: action\['ul_subchannel'\]\[2\]: got 2"):
        wrapped.encode(native | {"ul_subchannel": np.array([0, 1, 2, 0])})
    with pytest.raises(ValueError, match=r"encode: action\['ul_power'\]\[0\]: got nan"):
        wrapped.encode(native | {"ul_power": np.float32([np.nan, 0, 0, 0])})


@pytest.mark.parametrize("view", VIEWS)
def test_views_refuse_a_non_native_action_space(view):
    with pytest.raises(ValueError, match=r"allowed: the native NomaSplit Dict action"):
        view(FlatBoxAction(make_base("NomaSplit-v0")))


def rollout(env: gym.Env, seed: int, steps: int = 15) -> list:
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        trace += [obs, reward, terminated, truncated]
    return trace


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_gives_the_same_trajectory(view, env_id):
    first, second = (rollout(view(gym.make(env_id)), seed=7) for _ in range(2))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(
        np.array_equal(a, b)
        for a, b in zip(first, rollout(view(gym.make(env_id)), seed=8), strict=True)
    )


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(("env_id", "overrides"), SCENARIOS, ids=SCENARIO_IDS)
def test_wrapped_step_is_the_native_step_of_the_decoded_action(view, env_id, overrides):
    wrapped = view(gym.make(env_id, **dict(overrides)))
    native = gym.make(env_id, **dict(overrides))
    wrapped.action_space.seed(3)
    obs_w, _ = wrapped.reset(seed=3)
    obs_n, _ = native.reset(seed=3)
    np.testing.assert_array_equal(obs_w, obs_n)
    for _ in range(10):
        action = wrapped.action_space.sample()
        obs_w, reward_w, *_ = wrapped.step(action)
        obs_n, reward_n, *_ = native.step(wrapped.action(action))
        np.testing.assert_array_equal(obs_w, obs_n)
        assert reward_w == reward_n


def test_wrappers_are_recorded_in_the_spec():
    env = MultiDiscreteAction(gym.make("NomaSplit-tiny-v0"), power_levels=4)
    wrapper_spec = env.spec.additional_wrappers[-1]
    assert wrapper_spec.name == "MultiDiscreteAction"
    assert wrapper_spec.kwargs == {"power_levels": 4}


# ------------------------------------------------------------------ tiny SB3 runs
@pytest.mark.parametrize("view", VIEWS)
def test_tiny_ppo_learns_without_error(view):
    sb3 = pytest.importorskip("stable_baselines3")
    env = view(gym.make("NomaSplit-v0"))
    model = sb3.PPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.set_logger(silent_logger())
    model.learn(total_timesteps=64)
    action, _ = model.predict(env.reset(seed=0)[0], deterministic=True)
    assert env.action_space.contains(action.astype(env.action_space.dtype))
    env.step(action)


def test_tiny_sac_learns_without_error():
    sb3 = pytest.importorskip("stable_baselines3")
    env = FlatBoxAction(gym.make("NomaSplit-v0"))
    model = sb3.SAC(
        "MlpPolicy", env, learning_starts=10, batch_size=8, buffer_size=100, seed=0, device="cpu"
    )
    model.set_logger(silent_logger())
    model.learn(total_timesteps=20)
    action, _ = model.predict(env.reset(seed=0)[0], deterministic=True)
    assert env.action_space.contains(action)
    env.step(action)


def silent_logger():
    """An SB3 logger that writes nothing (without one, ``learn`` makes a folder in the
    temp directory for its default logger on every call)."""
    from stable_baselines3.common.logger import Logger

    return Logger(folder=None, output_formats=[])
