"""The native vector env: B cells equal B single envs, Gymnasium's sync mode included."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode

import noma_split_env
from noma_split_env import ENV_IDS
from noma_split_env.vector import NomaSplitVectorEnv

SHORT = {"max_episode_steps": 6}  # autoreset within the test's steps


def native(env_id: str, num_envs: int, **kwargs) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
                        **kwargs)  # fmt: skip


@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_equals_gymnasium_sync_mode(env_id):
    """Same observations, rewards, flags and infos as ``SyncVectorEnv`` of single envs
    (seeded ``seed + i``), through two autoresets; the native env is make_vec's default."""
    num_envs = 3 if env_id != "NomaSplit-massive-v0" else 2
    ours = gym.make_vec(env_id, num_envs=num_envs, info_level="costs", **SHORT)
    assert isinstance(ours.unwrapped, NomaSplitVectorEnv)
    sync = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync",
                        info_level="costs", **SHORT)  # fmt: skip
    assert ours.action_space == sync.action_space
    assert ours.observation_space == sync.observation_space
    assert ours.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"]
    assert ours.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    a, b = ours.reset(seed=7), sync.reset(seed=7)
    assert data_equivalence(a, b)
    ours.action_space.seed(1)
    resets = 0
    for _ in range(15):
        action = ours.action_space.sample()
        a, b = ours.step(action), sync.step(action)
        assert data_equivalence(a, b, exact=True)
        assert ours.observation_space.contains(a[0])
        resets += int(a[4] == {})
    assert resets == 2


@pytest.mark.parametrize(
    "overrides",
    [{}, {"allocate_edge_share": True, "deadline_s": 0.15}, {"access": "oma", "sic_residual": 0.1}],
)
def test_full_info_is_the_single_envs_merged(overrides):
    ours = native("NomaSplit-v0", 4, info_level="full", **SHORT, **overrides)
    sync = gym.make_vec("NomaSplit-v0", num_envs=4, vectorization_mode="sync",
                        info_level="full", **SHORT, **overrides)  # fmt: skip
    ours.reset(seed=3)
    sync.reset(seed=3)
    ours.action_space.seed(3)
    for _ in range(8):
        action = ours.action_space.sample()
        a, b = ours.step(action), sync.step(action)
        assert data_equivalence(a[:4], b[:4], exact=True)
        assert set(a[4]) == set(b[4]) - {"allocation", "_allocation"}
        for key, value in a[4].items():
            assert data_equivalence(value, b[4][key], exact=True), key


def test_seeds_and_continued_generators():
    ours = native("NomaSplit-tiny-v0", 3, **SHORT)
    singles = [gym.make("NomaSplit-tiny-v0", **SHORT) for _ in range(3)]
    obs, _ = ours.reset(seed=[5, 0, 9])
    firsts = [e.reset(seed=s)[0] for e, s in zip(singles, (5, 0, 9), strict=True)]
    assert data_equivalence(obs, np.stack(firsts))
    obs, _ = ours.reset()  # each cell continues its own generator, as env.reset() does
    assert data_equivalence(obs, np.stack([e.reset()[0] for e in singles]))
    with pytest.raises(ValueError, match=r"reset.seed: got \[1, 2\], allowed: .*3 seeds"):
        ours.reset(seed=[1, 2])


def test_slot_of_a_cell_is_the_single_envs_slot():
    ours = native("NomaSplit-v0", 2)
    single = gym.make("NomaSplit-v0")
    ours.reset(seed=4)
    ours.step(ours.action_space.sample())
    single.reset(seed=5)
    single.step(single.action_space.sample())
    a, b = ours.unwrapped.slot(1), single.unwrapped.slot
    for name in ("ul_gain", "dl_gain", "distance_m", "model_index", "t_ref"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_scoring_over_the_cores_gives_the_one_thread_numbers():
    """The step scores the cells in parallel (numba prange): one thread or all give
    the same numbers."""
    import numba

    def rollout() -> list:
        env = native("NomaSplit-v0", 8, info_level="full")
        env.reset(seed=0)
        env.action_space.seed(0)
        return [env.step(env.action_space.sample()) for _ in range(5)]

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = rollout()
    finally:
        numba.set_num_threads(threads)
    assert data_equivalence(one, rollout(), exact=True)


def test_bad_actions_and_arguments_are_named():
    ours = native("NomaSplit-v0", 3)
    ours.reset(seed=0)
    action = ours.action_space.sample()
    bad = dict(action, ul_power=action["ul_power"].copy())
    bad["ul_power"][2, 1] = 1.5
    with pytest.raises(ValueError, match=r"actions\['ul_power'\]\[2\]: got .*allowed: 4 numbers"):
        ours.step(bad)
    with pytest.raises(ValueError, match=r"actions\['split'\]: got shape \(4,\)"):
        ours.step(dict(action, split=action["split"][0]))
    with pytest.raises(ValueError, match=r"actions: got keys"):
        ours.step({"split": action["split"]})
    with pytest.raises(ValueError, match=r"num_envs: got 0"):
        NomaSplitVectorEnv(0)
    with pytest.raises(ValueError, match=r"info_level: got 'all'"):
        NomaSplitVectorEnv(2, info_level="all")
    with pytest.raises(RuntimeError, match="reset"):
        NomaSplitVectorEnv(2).step(action)


def test_info_none_and_registered_entry_points():
    ours = native("NomaSplit-dense-v0", 2, info_level="none")
    ours.reset(seed=0)
    assert ours.step(ours.action_space.sample())[4] == {}
    for env_id in ENV_IDS:
        assert gym.spec(env_id).vector_entry_point == "noma_split_env.vector:NomaSplitVectorEnv"
    assert noma_split_env.NomaSplitVectorEnv is NomaSplitVectorEnv
