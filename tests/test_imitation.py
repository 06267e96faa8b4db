"""Imitation of Li-GD: the inverse decoding, expert datasets and behaviour cloning.

Small budgets: the ``tiny`` scenario (Li-GD decides a slot in about a millisecond), a
few hundred slots and a narrow per-user policy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import agents
from noma_split_env import NomaSplitEnv, Scenario
from noma_split_env.actions import ActionDecoder
from noma_split_env.evaluate import evaluate
from noma_split_env.wrappers import FlatBoxAction, MultiDiscreteAction
from train import imitation
from train.config import load_config
from train.imitation import ExpertData, behaviour_clone, entry_weights, expert_data, view_targets
from train.sb3_agent import SB3Agent
from train.training import _build_model, _seed_everything, make_vec_env, train

SCENARIOS = [
    ("tiny", {}),
    ("default", {}),
    ("default", {"allocate_edge_share": True}),
    ("default", {"models": ("alexnet", "mobilenet_v2")}),
]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test caches its expert data in its own folder."""
    monkeypatch.setenv("NOMA_SPLIT_CACHE", str(tmp_path / "cache"))


def random_allocation(decoder: ActionDecoder, slot, rng) -> object:
    space = decoder.space
    space.seed(int(rng.integers(2**31)))
    return decoder.decode(space.sample(), slot)


@pytest.mark.parametrize(("preset", "overrides"), SCENARIOS)
def test_encode_is_the_inverse_of_decode(preset, overrides) -> None:
    """decode(encode(a)) == a: the split exactly, powers and shares to float32."""
    scenario = Scenario.preset(preset, **overrides)
    env = NomaSplitEnv(scenario)
    env.reset(seed=3)
    decoder = ActionDecoder(scenario)
    rng = np.random.default_rng(0)
    li_gd = agents.make("li-gd")
    for step in range(6):
        slot = env.slot
        for allocation in (li_gd.act(slot), random_allocation(decoder, slot, rng)):
            native = decoder.encode(allocation, slot)
            assert decoder.space.contains(native), step
            back = decoder.decode(native, slot)
            offload = allocation.split < slot.num_layers
            np.testing.assert_array_equal(back.split, allocation.split)
            np.testing.assert_array_equal(back.ul_subchannel, allocation.ul_subchannel)
            np.testing.assert_allclose(back.ul_power, allocation.ul_power, rtol=1e-6, atol=1e-12)
            np.testing.assert_allclose(
                back.dl_power, np.where(offload, allocation.dl_power, 0.0), rtol=1e-6, atol=1e-12
            )
            ratio = evaluate(slot, back).cost / evaluate(slot, allocation).cost
            assert abs(ratio - 1) < 1e-5
        env.step_allocation(allocation)


def test_encode_rejects_an_invalid_allocation() -> None:
    scenario = Scenario.preset("tiny")
    env = NomaSplitEnv(scenario)
    env.reset(seed=0)
    allocation = agents.make("all-local").act(env.slot)
    bad = type(allocation)(
        allocation.split + 100,
        allocation.ul_subchannel,
        allocation.dl_subchannel,
        allocation.ul_power,
        allocation.dl_power,
    )
    with pytest.raises(ValueError, match="Allocation.split"):
        ActionDecoder(scenario).encode(bad, env.slot)


# --------------------------------------------------------------------------- datasets
def test_expert_data_labels_every_slot_with_li_gd(tmp_path) -> None:
    scenario = Scenario.preset("tiny")
    data = expert_data(scenario, episodes=3, steps=4, seed=7, workers=1)
    assert len(data) == 12 and data.observations.shape == (12, 10)
    assert data.episodes.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    # replaying the first episode gives the same observations and Li-GD's costs
    env = NomaSplitEnv(scenario)
    obs, _ = env.reset(seed=imitation.expert_seeds(7, 3)[0])
    decoder = ActionDecoder(scenario)
    for i in range(4):
        np.testing.assert_array_equal(obs, data.observations[i])
        native = {key: value[i] for key, value in data.actions.items()}
        allocation = decoder.decode(native, env.slot)
        expected = evaluate(env.slot, agents.make("li-gd").act(env.slot)).cost
        assert abs(evaluate(env.slot, allocation).cost / expected - 1) < 1e-5
        np.testing.assert_array_equal(data.offload[i], allocation.split < env.slot.num_layers)
        assert data.costs[i] == pytest.approx(expected, rel=1e-12)
        obs, *_ = env.step_allocation(allocation)


def test_expert_data_is_reproducible_cached_and_parallel(tmp_path) -> None:
    scenario = Scenario.preset("tiny")
    lines: list[str] = []
    first = expert_data(scenario, episodes=4, steps=3, seed=1, workers=2, log=lines.append)
    path = imitation.cache_path(scenario, "li-gd", 4, 3, 1)
    assert path.is_file() and "cached in" in lines[0]
    again = expert_data(scenario, episodes=4, steps=3, seed=1, log=lines.append)
    assert "from the cache" in lines[1]
    serial = expert_data(scenario, episodes=4, steps=3, seed=1, workers=1, cache=False)
    for other in (again, serial):
        np.testing.assert_array_equal(other.observations, first.observations)
        np.testing.assert_array_equal(other.costs, first.costs)
        for key in first.actions:
            np.testing.assert_array_equal(other.actions[key], first.actions[key])
    other_seed = expert_data(scenario, episodes=4, steps=3, seed=2, cache=False, workers=1)
    assert not np.array_equal(other_seed.observations, first.observations)
    # another scenario, another expert or other sizes: another file
    assert imitation.cache_path(scenario.replace(latency_weight=0.2), "li-gd", 4, 3, 1) != path
    assert imitation.cache_path(scenario, "gd", 4, 3, 1) != path


def test_expert_data_rejects_bad_sizes_and_experts() -> None:
    scenario = Scenario.preset("tiny")
    with pytest.raises(ValueError, match=r"expert_data.episodes: got 0, allowed"):
        expert_data(scenario, episodes=0)
    with pytest.raises(ValueError, match="unknown agent 'oracle'"):
        expert_data(scenario, expert="oracle", episodes=1, steps=1)


def test_entry_weights_drop_the_powers_of_local_users() -> None:
    view = MultiDiscreteAction(NomaSplitEnv(Scenario.preset("default")))
    offload = np.array([[True, False, True, True]])
    w = entry_weights(view, offload)
    assert w.shape == (1, 20)
    np.testing.assert_array_equal(w[0, view.slices["split"]], 1)
    for key in ("ul_subchannel", "dl_subchannel", "ul_power", "dl_power"):
        np.testing.assert_array_equal(w[0, view.slices[key]], [1, 0, 1, 1])


def test_view_targets_round_powers_up() -> None:
    view = MultiDiscreteAction(NomaSplitEnv(Scenario.preset("tiny")), power_levels=5)
    actions = {
        "split": np.array([[3, 11]]),
        "ul_subchannel": np.zeros((1, 2), np.int64),
        "dl_subchannel": np.zeros((1, 2), np.int64),
        "ul_power": np.float32([[1.0, 0.0]]),
        "dl_power": np.float32([[0.01, 0.0]]),
    }
    targets = view_targets(view, actions)
    assert targets[0, view.slices["dl_power"]].tolist() == [1, 0]  # 0.01 -> 0.25, not off


# --------------------------------------------------------------------------- cloning
def tiny_model(view: str = "multidiscrete", **overrides: object):
    config = load_config(
        "ppo",
        overrides={
            "scenario": "tiny",
            "action_view": view,
            "n_envs": 2,
            "policy": "PerUserPolicy",
            "policy_kwargs": {"hidden": 32, "rounds": 1},
            "hyperparams": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
            **overrides,
        },
    )
    _seed_everything(config, lambda _: None)
    return config, _build_model(config, make_vec_env(config))


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> ExpertData:
    return expert_data(Scenario.preset("tiny"), episodes=30, steps=20, seed=0, cache=False)


@pytest.mark.parametrize("view", ["multidiscrete", "box"])
def test_cloning_learns_li_gd(tiny_data: ExpertData, view: str) -> None:
    """The clone fits Li-GD on held-out episodes: likelihood, splits and powers; in
    the MultiDiscrete view its cost is far below an untrained policy's and near
    Li-GD's. (The Box view's cost stays high: a small downlink fraction regressed a
    little too low is clipped to 0 and stalls the result.)"""
    _, untrained = tiny_model(view)
    before = behaviour_clone(untrained, tiny_data, epochs=1, learning_rate=1e-9)
    _, model = tiny_model(view)
    after = behaviour_clone(model, tiny_data, epochs=40, batch_size=64, learning_rate=3e-3)
    assert after.samples == 540 and after.holdout_samples == 60
    assert after.holdout_loss < before.holdout_loss - 2
    split = after.holdout_accuracy["split"]
    assert split > (0.8 if view == "multidiscrete" else 0.6)
    assert split > before.holdout_accuracy["split"] + 0.2
    for key, error in after.holdout_fraction_error.items():
        assert error < 0.6 * before.holdout_fraction_error[key], key
    if view == "multidiscrete":
        ratio = after.holdout_cost_ratio
        assert ratio < min(1.25, 0.8 * before.holdout_cost_ratio), (before, after)
    # the observation normalization now holds the dataset's statistics
    rms = model.get_env().obs_rms
    np.testing.assert_allclose(rms.mean, tiny_data.observations.mean(axis=0), rtol=1e-6)


def test_cloning_is_reproducible(tiny_data: ExpertData) -> None:
    results, weights = [], []
    for _ in range(2):
        _, model = tiny_model()
        results.append(behaviour_clone(model, tiny_data, epochs=3).to_dict())
        weights.append([p.detach().clone() for p in model.policy.parameters()])
    for r in results:
        r.pop("seconds")
    assert results[0] == results[1]
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(*weights, strict=True))


@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_cloning_fits_an_off_policy_actor_and_its_critics(tiny_data: ExpertData, algo: str) -> None:
    """SAC and TD3 clone too (per-user actor and critics): the deterministic action
    regresses onto the expert's Box action, the critics onto its reward at that
    action, and the target networks start as the fitted ones."""
    import torch as th

    def model():
        config = load_config(
            algo,
            overrides={
                "scenario": "tiny",
                "policy": "PerUserPolicy",
                "policy_kwargs": {"hidden": 32, "rounds": 1, "critic_rounds": 1},
                "hyperparams": {"buffer_size": 100, "learning_starts": 10},
            },
        )
        _seed_everything(config, lambda _: None)
        return _build_model(config, make_vec_env(config))

    before = behaviour_clone(model(), tiny_data, epochs=1, learning_rate=1e-9)
    clone = model()
    after = behaviour_clone(clone, tiny_data, epochs=40, batch_size=64, learning_rate=3e-3)
    assert after.holdout_loss < 0.5 * before.holdout_loss
    assert after.holdout_accuracy["split"] > max(0.6, before.holdout_accuracy["split"] + 0.2)
    for key, error in after.holdout_fraction_error.items():
        assert error < 0.6 * before.holdout_fraction_error[key], key
    policy = clone.policy
    for name in ("actor", "critic") if algo == "td3" else ("critic",):  # SAC: no actor target
        fitted, target = getattr(policy, name), getattr(policy, f"{name}_target")
        for a, b in zip(fitted.parameters(), target.parameters(), strict=True):
            assert th.equal(a, b), name
    # the critics learned the expert's reward at the expert's action
    obs = th.as_tensor(clone.get_env().normalize_obs(tiny_data.observations), dtype=th.float32)
    view = imitation._find_view(clone.get_env().venv.envs[0])
    actions = th.as_tensor(imitation.view_targets(view, tiny_data.actions), dtype=th.float32)
    with th.no_grad():
        q = policy.critic(obs, actions)[0].flatten().numpy()
    reward = -np.log(tiny_data.costs)
    assert np.mean((q - reward) ** 2) < 0.1 * np.var(reward)


def test_train_with_init_bc_and_no_rl_is_the_clone(tmp_path: Path) -> None:
    """``noma-split train --init bc --timesteps 0``: the saved model is the clone; its
    agent acts on the held-out slots as scored in bc.json."""
    config = load_config(
        "ppo",
        overrides={
            "scenario": "tiny",
            "timesteps": 0,
            "init": "bc",
            "bc": {"episodes": 10, "steps": 10, "epochs": 5, "workers": 1, "holdout": 0.2},
            "n_envs": 2,
            "eval_episodes": 1,
            "policy": "PerUserPolicy",
            "policy_kwargs": {"hidden": 16, "rounds": 1},
            "hyperparams": {"n_steps": 32, "batch_size": 32},
        },
    )
    result = train(config, tmp_path / "runs", progress_bar=False)
    assert result.timesteps == 0
    bc = json.loads((result.run_dir / "bc.json").read_text())
    assert bc["data"]["expert"] == "li-gd" and bc["result"]["samples"] == 80
    agent = SB3Agent(result.run_dir)
    data = expert_data(config.make_scenario(), episodes=10, steps=10, seed=0, workers=1)
    held = data.subset(data.episodes >= 8)
    env = NomaSplitEnv(config.make_scenario())
    total = 0.0
    for episode in (8, 9):
        env.reset(seed=imitation.expert_seeds(0, 10)[episode])
        for _ in range(10):
            total += env.step_allocation(agent.act(env.slot))[4]["cost"]
    assert total / held.costs.sum() == pytest.approx(bc["result"]["holdout_cost_ratio"], rel=1e-9)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"init": "bc", "bc": {"epochs": 0}}, r"config.bc.epochs: got 0, allowed"),
        ({"init": "bc", "bc": {"expert": "sb3"}}, r"config.bc.expert: got 'sb3', allowed: one of"),
        ({"init": "bc", "bc": {"holdout": 1.0}}, r"config.bc.holdout: got 1.0"),
        ({"init": "bc", "bc": {"speed": 2}}, r"config.bc: unknown setting\(s\) speed"),
        ({"init": "imitate"}, r"config.init: got 'imitate', allowed: none or bc"),
        ({"init": "none", "timesteps": 0}, r"config.timesteps: got 0, allowed"),
    ],
)
def test_bad_bc_settings_fail_in_one_line(overrides, message) -> None:
    with pytest.raises(ValueError, match=message):
        load_config("ppo", overrides=overrides)


def test_actor_warmup_is_for_sac_and_td3() -> None:
    with pytest.raises(ValueError, match=r"config.actor_warmup: got 10, allowed: 0 for ppo"):
        load_config("ppo", overrides={"actor_warmup": 10})
    with pytest.raises(ValueError, match=r"config.actor_warmup: got -1, allowed"):
        load_config("td3", overrides={"actor_warmup": -1})
    assert load_config("sac", overrides={"init": "bc", "actor_warmup": 10}).actor_warmup == 10


def test_flat_box_targets_decode_to_the_expert(tiny_data: ExpertData) -> None:
    view = FlatBoxAction(NomaSplitEnv(Scenario.preset("tiny")))
    targets = view_targets(view, tiny_data.actions)
    for i in range(0, len(tiny_data), 37):
        native = view.action(targets[i])
        for key in ("split", "ul_subchannel", "dl_subchannel"):
            np.testing.assert_array_equal(native[key], tiny_data.actions[key][i])
        np.testing.assert_allclose(native["dl_power"], tiny_data.actions["dl_power"][i], atol=1e-7)


@pytest.mark.parametrize(("preset", "overrides"), [("dense", {}), ("default", {"access": "oma"})])
def test_relabelled_subchannels_cost_the_same(preset, overrides) -> None:
    """The symmetry behind ``relabel``: permuting a direction's subchannels in the
    slot and in the allocation leaves the cost unchanged, to the bit."""
    from noma_split_env import Slot
    from noma_split_env.slot import Allocation

    scenario = Scenario.preset(preset, **overrides)
    env = NomaSplitEnv(scenario)
    env.reset(seed=4)
    rng = np.random.default_rng(1)
    for _ in range(3):
        slot, allocation = env.slot, agents.make("greedy").act(env.slot)
        up, down = (
            rng.permutation(scenario.num_subchannels),
            rng.permutation(scenario.num_subchannels),
        )
        moved = Slot.from_table(
            scenario, slot.ul_gain[:, up], slot.dl_gain[:, down], slot.distance_m, slot.model_index
        )
        relabelled = Allocation(
            allocation.split,
            np.argsort(up)[allocation.ul_subchannel],
            np.argsort(down)[allocation.dl_subchannel],
            allocation.ul_power,
            allocation.dl_power,
        )
        assert evaluate(moved, relabelled).cost == evaluate(slot, allocation).cost
        env.step_allocation(allocation)


@pytest.mark.parametrize("view_class", [MultiDiscreteAction, FlatBoxAction])
def test_relabelling_moves_gains_and_labels_together(view_class) -> None:
    scenario = Scenario.preset("dense")
    view = view_class(NomaSplitEnv(scenario))
    data = expert_data(scenario, expert="greedy", episodes=1, steps=8, workers=1, cache=False)
    targets = view_targets(view, data.actions)
    obs, moved = imitation.relabel_subchannels(
        view, data.observations, targets, np.random.default_rng(0)
    )
    n, k = scenario.num_subchannels, scenario.num_users
    before, after = data.observations.reshape(8, k, -1), obs.reshape(8, k, -1)
    changed = False
    for key, offset in (("ul_subchannel", 0), ("dl_subchannel", n)):
        natives_old = [view.action(t)[key] for t in targets]
        natives_new = [view.action(t)[key] for t in moved]
        for b in range(8):
            users = np.arange(k)
            # every user keeps its gain on its (relabelled) subchannel
            np.testing.assert_array_equal(
                after[b, users, offset + natives_new[b]], before[b, users, offset + natives_old[b]]
            )
            # and the set of gains of each user is the same
            np.testing.assert_array_equal(
                np.sort(after[b, :, offset : offset + n]),
                np.sort(before[b, :, offset : offset + n]),
            )
            changed |= not np.array_equal(natives_new[b], natives_old[b])
    assert changed
    np.testing.assert_array_equal(after[:, :, 2 * n :], before[:, :, 2 * n :])  # the rest stays


def test_the_fast_deterministic_action_is_sb3s(tiny_data: ExpertData) -> None:
    _, model = tiny_model()
    behaviour_clone(model, tiny_data, epochs=2)
    normalized = model.get_env().normalize_obs(tiny_data.observations)
    for obs in normalized[::3]:
        expected, _ = model.predict(obs, deterministic=True)
        np.testing.assert_array_equal(model.policy.deterministic_action(obs), expected)
    _, box = tiny_model("box")
    assert box.policy.deterministic_action(normalized[0]) is None  # SB3's own path


def test_a_damaged_cache_file_is_made_again() -> None:
    scenario = Scenario.preset("tiny")
    first = expert_data(scenario, episodes=2, steps=2, workers=1)
    imitation.cache_path(scenario, "li-gd", 2, 2, 0).write_bytes(b"not a zip")
    lines: list[str] = []
    again = expert_data(scenario, episodes=2, steps=2, workers=1, log=lines.append)
    assert "cannot read the cache" in lines[0] and "cached in" in lines[1]
    np.testing.assert_array_equal(again.costs, first.costs)


def test_a_holdout_of_every_episode_is_refused(tiny_data: ExpertData) -> None:
    _, model = tiny_model()
    two = tiny_data.subset(tiny_data.episodes < 2)
    with pytest.raises(ValueError, match=r"holds out all 2 expert episodes"):
        behaviour_clone(model, two, holdout=0.75)


def test_cache_command_lists_and_clears_stale_datasets(capsys) -> None:
    """``noma-split cache``: every dataset with its state; ``--clear-stale`` deletes
    those made by other code (a different fingerprint) and keeps the current ones."""
    from train.cli import main

    scenario = Scenario.preset("tiny")
    expert_data(scenario, episodes=1, steps=2, seed=0, workers=1)
    current = imitation.cache_path(scenario, "li-gd", 1, 2, 0)
    stale = current.with_name("tiny-li-gd-1x2-seed0-0000000000000000.npz")
    data = imitation.ExpertData.load(current)
    data.meta["code"] = "older code"
    data.save(stale)
    torn = current.with_name("torn.npz")
    torn.write_bytes(b"not a zip")
    states = {item.path.name: (item.current, item.expert) for item in imitation.cached_datasets()}
    assert states == {current.name: (True, "li-gd"), stale.name: (False, "li-gd"),
                      torn.name: (False, None)}  # fmt: skip
    assert main(["cache"]) == 0
    listed = capsys.readouterr().out
    assert "3 datasets" in listed and "stale" in listed and "unreadable" in listed
    assert current.exists() and stale.exists()  # listing deletes nothing
    assert main(["cache", "--clear-stale"]) == 0
    assert current.exists() and not stale.exists() and not torn.exists()
    assert main(["cache", "--clear"]) == 0
    assert not current.exists()
    assert "0 datasets" in (main(["cache"]), capsys.readouterr().out)[1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hidden": 32, "rounds": 1},
        {"hidden": 32, "rounds": 2, "mixer": "attention", "heads": 4},
        {"hidden": 16, "rounds": 2, "activation_fn": "relu"},
    ],
)
def test_the_numpy_actor_is_the_torch_network(tiny_data: ExpertData, kwargs: dict) -> None:
    """NumpyActor mirrors PerUserPolicy (each mixer, tanh and relu): the same logits
    to float rounding, hence the same actions; the Box view is left to torch."""
    import torch as th

    from train.policies import NumpyActor

    _, model = tiny_model(policy_kwargs=kwargs)
    behaviour_clone(model, tiny_data, epochs=1)
    actor = NumpyActor.of(model.policy)
    assert actor is not None
    normalized = model.get_env().normalize_obs(tiny_data.observations)
    for obs in normalized[::2]:
        np.testing.assert_array_equal(actor(obs), model.policy.deterministic_action(obs))
    with th.inference_mode():  # the logits themselves, not only their argmax
        x = th.as_tensor(normalized[:20], dtype=th.float32)
        expected = model.policy.action_net(model.policy.mlp_extractor.forward_actor(x)).numpy()
    k = model.policy.num_users
    for obs, want in zip(normalized[:20], expected, strict=True):
        got = actor.logits(obs)  # [K, sum b] -> block-major, as the view
        edges = np.cumsum(actor.blocks)[:-1]
        flat = np.concatenate([b.ravel() for b in np.split(got, edges, axis=1)])
        np.testing.assert_allclose(flat, want, rtol=1e-5, atol=1e-5)
    assert got.shape == (k, sum(actor.blocks))
    _, box = tiny_model("box")
    assert NumpyActor.of(box.policy) is None
