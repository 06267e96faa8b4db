"""NomaSplit-v0 and its variants: API conformance, determinism, bad input, rendering."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence

import noma_split_env
from noma_split_env import ENV_IDS, NomaSplitEnv, Scenario, observe
from noma_split_env.env import INFO_LEVELS

ALL_IDS = sorted(ENV_IDS)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_gymnasium_check_env_passes_without_warnings(env_id):
    env = gym.make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=False)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_observation_is_in_bounds_and_a_function_of_the_slot(env_id):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=3)
    env.action_space.seed(3)
    for _ in range(5):
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(obs, observe(env.unwrapped.slot))
        obs, *_ = env.step(env.action_space.sample())


def rollout(env_id: str, seed: int, action_seed: int, steps: int = 30, **kwargs):
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(action_seed)
    obs, _ = env.reset(seed=seed)
    trace = [(obs, None, None, env.unwrapped.slot)]
    for _ in range(steps):
        obs, reward, _, truncated, info = env.step(env.action_space.sample())
        trace.append((obs, reward, info, env.unwrapped.slot))
        if truncated:
            obs, _ = env.reset()
    return trace


@pytest.mark.parametrize("env_id", ["NomaSplit-v0", "NomaSplit-tiny-v0"])
def test_same_seed_same_observations_rewards_infos(env_id):
    a = rollout(env_id, seed=11, action_seed=1, max_episode_steps=12)
    b = rollout(env_id, seed=11, action_seed=1, max_episode_steps=12)
    for (oa, ra, ia, _), (ob, rb, ib, _) in zip(a, b, strict=True):
        assert data_equivalence(oa, ob)
        assert ra == rb
        assert ia is None or data_equivalence(ia, ib)


def test_different_actions_face_identical_channels_and_tasks():
    a = rollout("NomaSplit-v0", seed=5, action_seed=1, max_episode_steps=12)
    b = rollout("NomaSplit-v0", seed=5, action_seed=2, max_episode_steps=12)
    assert any(ra != rb for (_, ra, *_), (_, rb, *_) in zip(a[1:], b[1:], strict=True))
    for (oa, *_, sa), (ob, *_, sb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(oa, ob)
        np.testing.assert_array_equal(sa.ul_gain, sb.ul_gain)
        np.testing.assert_array_equal(sa.dl_gain, sb.dl_gain)
        np.testing.assert_array_equal(sa.model_index, sb.model_index)


def test_different_seeds_differ():
    a = rollout("NomaSplit-v0", seed=1, action_seed=0, steps=2)
    b = rollout("NomaSplit-v0", seed=2, action_seed=0, steps=2)
    assert not np.array_equal(a[0][0], b[0][0])


def _trajectory_digest(seed: int) -> str:
    env = gym.make("NomaSplit-v0")
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    h = hashlib.sha256(obs.tobytes())
    for _ in range(20):
        obs, reward, *_ = env.step(env.action_space.sample())
        h.update(obs.tobytes())
        h.update(np.float64(reward).tobytes())
    return h.hexdigest()


def test_same_seed_same_results_across_processes():
    here = str(Path(__file__).parent)
    code = f"import sys; sys.path.insert(0, {here!r}); import test_env; "
    code += "print(test_env._trajectory_digest(4))"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == _trajectory_digest(4)


def test_truncates_at_episode_length():
    env = gym.make("NomaSplit-v0", max_episode_steps=7)
    env.reset(seed=0)
    env.action_space.seed(0)
    flags = [env.step(env.action_space.sample())[3] for _ in range(7)]
    assert flags == [False] * 6 + [True]


def test_info_has_the_full_breakdown():
    env = gym.make("NomaSplit-v0")
    env.reset(seed=0)
    env.action_space.seed(0)
    failures = 0
    for _ in range(40):
        _, reward, terminated, _, info = env.step(env.action_space.sample())
        assert not terminated
        for key in ("latency", "energy", "t_local", "t_up", "t_edge", "t_dl", "e_local",
                    "e_up", "e_edge", "e_dl", "ul_rate", "dl_rate", "ul_sinr", "dl_sinr",
                    "miss", "device_energy", "edge_energy", "user_cost"):  # fmt: skip
            assert info[key].shape == (4,), key
        assert isinstance(info["allocation"], noma_split_env.Allocation)
        terms = info["reward_terms"]
        assert reward == pytest.approx(-sum(terms.values()), rel=1e-12)
        assert reward == pytest.approx(-info["user_cost"].mean() - terms["miss"], rel=1e-12)
        assert (terms["failure"] > 0) == info["failed"].any()
        failures += info["failed"].any()
        np.testing.assert_allclose(
            info["latency"], info["t_local"] + info["t_up"] + info["t_edge"] + info["t_dl"]
        )
    assert failures > 0, "random actions should include failed tasks"


def test_step_allocation_matches_decoded_step():
    a = gym.make("NomaSplit-v0").unwrapped
    b = gym.make("NomaSplit-v0").unwrapped
    a.reset(seed=9)
    b.reset(seed=9)
    a.action_space.seed(9)
    action = a.action_space.sample()
    allocation = a.decoder.decode(action, a.slot)
    ra = a.step(action)[1]
    rb = b.step_allocation(allocation)[1]
    assert ra == rb


def test_split_decoding_is_onto_each_models_range():
    env = NomaSplitEnv("default")
    env.reset(seed=0)
    slot = env.slot
    l_max = env.decoder.max_layers
    seen = [set() for _ in range(4)]
    for a in range(l_max + 1):
        action = {
            "split": np.full(4, a),
            "ul_subchannel": np.zeros(4, dtype=np.int64),
            "dl_subchannel": np.zeros(4, dtype=np.int64),
            "ul_power": np.ones(4, dtype=np.float32),
            "dl_power": np.ones(4, dtype=np.float32),
        }
        for k, s in enumerate(env.decoder.decode(action, slot).split):
            seen[k].add(int(s))
    for k in range(4):
        assert seen[k] == set(range(slot.num_layers[k] + 1))


def test_dl_power_fractions_are_scaled_to_the_budget():
    env = NomaSplitEnv("default")
    env.reset(seed=0)
    action = {
        "split": np.zeros(4, dtype=np.int64),
        "ul_subchannel": np.zeros(4, dtype=np.int64),
        "dl_subchannel": np.zeros(4, dtype=np.int64),
        "ul_power": np.full(4, 0.5, dtype=np.float32),
        "dl_power": np.ones(4, dtype=np.float32),
    }
    alloc = env.decoder.decode(action, env.slot)
    np.testing.assert_allclose(alloc.dl_power, env.scenario.bs_max_power_w / 4)
    np.testing.assert_allclose(alloc.ul_power, env.scenario.user_max_power_w / 2)


def valid_action(env):
    env.action_space.seed(0)
    return {k: v.copy() for k, v in env.action_space.sample().items()}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("split", np.full(4, 99)),
        ("split", np.full(4, 1.0)),
        ("split", np.zeros(3, dtype=np.int64)),
        ("ul_subchannel", np.full(4, -1)),
        ("dl_subchannel", np.full(4, 2)),
        ("ul_power", np.full(4, 1.5)),
        ("ul_power", np.array([0.1, np.nan, 0.1, 0.1])),
        ("dl_power", np.full(4, -0.1)),
        ("dl_power", np.array(["a", "b", "c", "d"])),
    ],
)
def test_bad_action_names_the_key(key, value):
    env = NomaSplitEnv("default")
    env.reset(seed=0)
    action = valid_action(env)
    action[key] = value
    with pytest.raises(ValueError, match=f"action\\['{key}'\\].*allowed"):
        env.step(action)


def test_action_with_wrong_keys_is_rejected():
    env = NomaSplitEnv("default")
    env.reset(seed=0)
    action = valid_action(env)
    del action["dl_power"]
    with pytest.raises(ValueError, match="exactly the keys"):
        env.step(action)
    with pytest.raises(ValueError, match="exactly the keys"):
        env.step(np.zeros(4))


def test_extreme_but_valid_actions_stay_finite():
    sc = Scenario.preset(
        "default", sic_residual=1.0, min_distance_m=490.0, shadowing_std_db=20.0,
        allocate_edge_share=True,
    )  # fmt: skip
    env = NomaSplitEnv(sc)
    env.reset(seed=0)
    for fill in (0.0, 1.0):
        for split in (0, env.decoder.max_layers):
            action = {
                "split": np.full(4, split),
                "ul_subchannel": np.zeros(4, dtype=np.int64),
                "dl_subchannel": np.zeros(4, dtype=np.int64),
                "ul_power": np.full(4, fill, dtype=np.float32),
                "dl_power": np.full(4, fill, dtype=np.float32),
                "edge_share": np.full(4, fill, dtype=np.float32),
            }
            _, reward, _, _, info = env.step(action)
            assert np.isfinite(reward)
            for key in ("latency", "energy", "ul_rate", "dl_rate", "ul_sinr", "dl_sinr"):
                assert np.all(np.isfinite(info[key])), key


def test_render_rgb_array_draws_the_cell():
    env = gym.make("NomaSplit-v0", render_mode="rgb_array")
    env.reset(seed=0)
    env.action_space.seed(0)
    first = env.render()
    env.step(env.action_space.sample())
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape[2] == 3 and frame.shape[0] >= 200
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 5  # not a blank canvas
    assert not np.array_equal(first, frame)  # the decision is drawn


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="render_mode"):
        NomaSplitEnv("default", render_mode="human")
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        NomaSplitEnv("nope")
    with pytest.raises(ValueError, match="Scenario.num_users"):
        gym.make("NomaSplit-v0", num_users=0)
    with pytest.raises(ValueError, match="NomaSplitEnv.scenario"):
        NomaSplitEnv(3)


def test_user_profile_runs_in_a_scenario():
    torch = pytest.importorskip("torch")
    from noma_split_env import profile_module

    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(8 * 16 * 16, 10),
    )  # fmt: skip
    profile = profile_module(net, (3, 16, 16), name="mine")
    env = gym.make("NomaSplit-v0", models=(profile, "resnet18"))
    env.reset(seed=0)
    env.action_space.seed(0)
    _, reward, *_ = env.step(env.action_space.sample())
    assert np.isfinite(reward)
    assert {p.name for p in env.unwrapped.scenario.profiles} == {"mine", "resnet18"}


def test_info_levels_change_the_info_alone():
    envs = {level: gym.make("NomaSplit-v0", info_level=level) for level in INFO_LEVELS}
    steps = {}
    for level, env in envs.items():
        env.reset(seed=5)
        env.action_space.seed(5)
        steps[level] = [env.step(env.action_space.sample()) for _ in range(6)]
    for t, full in enumerate(steps["full"]):
        for level in ("costs", "none"):
            other = steps[level][t]
            np.testing.assert_array_equal(other[0], full[0])
            assert other[1:4] == full[1:4]
        costs = steps["costs"][t][4]
        assert set(costs) == {"cost", "reward_terms", "num_failed", "num_misses"}
        assert costs["reward_terms"] == full[4]["reward_terms"] and costs["cost"] == full[4]["cost"]
        assert steps["none"][t][4] == {}
    with pytest.raises(ValueError, match=r"info_level: got 'some', allowed: full, costs, none"):
        gym.make("NomaSplit-v0", info_level="some")
