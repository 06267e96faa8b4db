"""The queued env NomaSplit-queue-v0 (docs/model.md section 12) and the lyapunov agent."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import agents
from agents.lyapunov import weighted_slot
from noma_split_env import (
    QUEUE_ENV_IDS,
    Allocation,
    MultiDiscreteAction,
    NomaSplitEnv,
    Scenario,
    evaluate,
)
from noma_split_env.queue import (
    FRESH,
    IDLE,
    LOCAL,
    OFFLOADING,
    QueueEnv,
    QueueSlot,
    queue_features,
)

ALL_TASKS = {"arrival_rate": 1.0}  # Bernoulli with probability 1: a task every slot


def one_user(**fields) -> Scenario:
    """A one-user cell with a ResNet-18 task arriving every slot into a 1-task queue."""
    base = {"num_users": 1, "num_subchannels": 1, "models": ("resnet18",), **ALL_TASKS}
    return Scenario(**{**base, "queue_capacity": 1, **fields})


def run(env: QueueEnv, agent, steps: int, seed: int = 0) -> list[dict]:
    env.reset(seed=seed)
    infos = []
    for _ in range(steps):
        *_, info = env.step_allocation(agent.act(env.slot))
        infos.append(info)
    return infos


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
@pytest.mark.parametrize("env_id", sorted(QUEUE_ENV_IDS)[:3])
def test_check_env_is_clean(env_id):
    check_env(gym.make(env_id).unwrapped, skip_render_check=True)
    check_env(MultiDiscreteAction(gym.make(env_id)), skip_render_check=True)


def test_ids_run_their_preset_with_the_queue_defaults():
    env = gym.make("NomaSplit-queue-dense-v0").unwrapped
    assert env.scenario.num_users == 16
    assert env.scenario.slot_duration_s == 0.1 and env.scenario.max_episode_steps == 500
    own = Scenario(slot_duration_s=0.5)  # a Scenario is taken as it is
    assert QueueEnv(own).scenario.slot_duration_s == 0.5
    assert QueueEnv("default", slot_duration_s=0.2).scenario.slot_duration_s == 0.2


def test_same_seed_same_arrivals_harvests_and_channels_whatever_the_actions():
    sc = Scenario.preset("default", arrival_rate=0.6, battery_capacity_j=0.3, harvest_mean_j=0.05)
    traces = []
    for agent in (agents.make("all-local"), agents.make("all-edge"), agents.make("random")):
        env = QueueEnv(sc)
        env.reset(seed=7)
        trace = []
        for _ in range(40):
            gains = env.slot.ul_gain.copy()
            *_, info = env.step_allocation(agent.act(env.slot))
            trace.append((gains, info["arrivals"], info["harvest_j"]))
        traces.append(trace)
    for other in traces[1:]:
        for (g0, a0, h0), (g1, a1, h1) in zip(traces[0], other, strict=True):
            np.testing.assert_array_equal(g0, g1)
            np.testing.assert_array_equal(a0, a1)
            np.testing.assert_array_equal(h0, h1)
    again = QueueEnv(sc)
    obs_a, _ = again.reset(seed=7)
    obs_b, _ = QueueEnv(sc).reset(seed=7)
    np.testing.assert_array_equal(obs_a, obs_b)


def test_actions_change_future_observations():
    sc = Scenario.preset("default", arrival_rate=0.8)
    obs = []
    for name in ("all-local", "li-gd"):
        env = QueueEnv(sc)
        env.reset(seed=3)
        for _ in range(5):
            o, *_ = env.step_allocation(agents.make(name).act(env.slot))
        obs.append(o)
    k, f = sc.num_users, len(obs[0]) // sc.num_users
    queue_a, queue_b = obs[0].reshape(k, f)[:, -6:], obs[1].reshape(k, f)[:, -6:]
    assert not np.array_equal(queue_a, queue_b)


@pytest.mark.parametrize(
    "fields",
    [
        {"arrival_rate": 0.9, "queue_capacity": 2, "task_deadline_slots": 4},
        {"arrival_process": "poisson", "arrival_rate": 2.5, "queue_capacity": 5},
        {"arrival_rate": 0.5, "battery_capacity_j": 0.2, "harvest_mean_j": 0.02},
    ],
)
def test_tasks_are_conserved_exactly(fields):
    env = QueueEnv(Scenario.preset("default", **fields))
    env.reset(seed=1)
    agent = agents.make("random", seed=0)
    seen = {"dropped": 0, "expired": 0, "completed": 0}
    for _ in range(120):
        *_, info = env.step_allocation(agent.act(env.slot))
        t = env.totals
        assert t["arrived"] == t["completed"] + t["dropped"] + t["expired"] + t["queued"]
        assert t["queued"] == int(env.slot.queue_length.sum())
        assert np.all(env.slot.queue_length <= env.scenario.queue_capacity)
        seen["dropped"] += info["num_dropped"]
        seen["expired"] += info["num_expired"]
        seen["completed"] += info["num_completed"]
    assert seen == {key: env.totals[key] for key in seen}
    if fields.get("queue_capacity", 10) <= 5:
        assert env.totals["dropped"] > 0  # the case exercises drops


def test_a_task_done_within_one_slot_costs_what_it_costs_in_v0():
    sc = one_user(slot_duration_s=10.0)
    env = QueueEnv(sc)
    env.reset(seed=0)
    slot = env.slot
    assert isinstance(slot, QueueSlot) and slot.head_state[0] == FRESH
    v0 = NomaSplitEnv(sc)
    v0.reset(seed=0)
    np.testing.assert_array_equal(slot.device_flops, v0.slot.device_flops)
    np.testing.assert_array_equal(slot.edge_flops, v0.slot.edge_flops)
    for allocation in (agents.make("li-gd").act(slot), Allocation.all_local(slot)):
        env.reset(seed=0)
        outcome = evaluate(env.slot, allocation)
        *_, info = env.step_allocation(allocation)
        assert info["completed"][0]
        assert info["user_cost"][0] == pytest.approx(outcome.user_cost[0], rel=1e-12)
        assert info["busy_time"][0] == pytest.approx(outcome.latency[0], rel=1e-12)


def test_work_carries_over_slots_and_adds_up_to_the_task():
    # ResNet-18 on the device takes 63 ms: 1 ms slots serve it over 64 slots
    sc = one_user(slot_duration_s=1e-3, task_deadline_slots=1000, drop_penalty=0.0)
    env = QueueEnv(sc)
    env.reset(seed=0)
    t_ref = env.slot.t_ref[0]
    total, busy, slots = 0.0, 0.0, 0
    while True:
        *_, info = env.step_allocation(Allocation.all_local(env.slot))
        total += info["user_cost"][0]
        busy += info["busy_time"][0]
        slots += 1
        if info["completed"][0]:
            break
        assert env.slot.head_state[0] == LOCAL and env.slot.num_layers[0] == 0
    assert slots == int(np.ceil(t_ref / 1e-3))
    assert busy == pytest.approx(t_ref, rel=1e-9)
    assert total == pytest.approx(1.0, rel=1e-9)  # all-local costs 1 over the task's life


def test_an_offloading_task_keeps_its_split_and_can_finish_on_the_device():
    sc = one_user(slot_duration_s=1e-3, task_deadline_slots=1000)
    env = QueueEnv(sc)
    env.reset(seed=0)
    slot = env.slot
    split = 3
    table = sc.model_table
    start = Allocation(
        np.array([split]), np.zeros(1, np.int64), np.zeros(1, np.int64),
        np.array([sc.user_max_power_w]), np.array([sc.bs_max_power_w]),
    )  # fmt: skip
    env.step_allocation(start)
    slot = env.slot
    assert slot.head_state[0] == OFFLOADING and slot.head_split[0] == split
    assert slot.num_layers[0] == 1
    assert slot.head_bits[0] == table.upload_bits[0, split] + table.result_bits[0]
    assert queue_features(slot)[0, 3] == slot.remaining_bits[0] / slot.head_bits[0]
    left_local = slot.device_flops[0, 0]
    assert left_local < table.device_flops[0, split]  # 1 ms of device work done
    assert slot.edge_flops[0, 0] == table.edge_flops[0, split]
    # "split" 1 finishes on the device: what is left there plus the whole edge part
    assert slot.device_flops[0, 1] == pytest.approx(left_local + table.edge_flops[0, split])
    env.step_allocation(Allocation.all_local(slot))
    assert env.slot.head_state[0] == LOCAL
    assert env.slot.device_flops[0, 0] == pytest.approx(
        left_local + table.edge_flops[0, split] - 1e-3 * sc.device_flops_per_s
    )


def test_an_empty_battery_stops_the_device():
    sc = one_user(battery_capacity_j=0.01, harvest_mean_j=0.0, slot_duration_s=0.05)
    env = QueueEnv(sc)
    env.reset(seed=0)
    power = sc.device_joule_per_flop * sc.device_flops_per_s  # 1.75 W: 0.01 J is 5.7 ms
    *_, info = env.step_allocation(Allocation.all_local(env.slot))
    assert info["outage"][0] and info["num_outages"] == 1
    assert info["device_energy"][0] == pytest.approx(0.01)
    assert env.slot.battery_j[0] == 0.0
    left = env.slot.device_flops[0, 0]
    done = 0.01 / power * sc.device_flops_per_s
    assert left == pytest.approx(sc.model_table.total_flops[0] - done)
    *_, info = env.step_allocation(Allocation.all_local(env.slot))
    assert info["device_energy"][0] == 0.0 and info["outage"][0]
    assert env.slot.device_flops[0, 0] == left  # no progress without energy


def test_harvest_refills_the_battery_up_to_its_capacity():
    sc = Scenario.preset("default", battery_capacity_j=0.5, harvest_mean_j=10.0, arrival_rate=0.0)
    env = QueueEnv(sc)
    env.reset(seed=0)
    *_, info = env.step_allocation(Allocation.all_local(env.slot))
    assert np.all(info["harvest_j"] > 0)
    np.testing.assert_array_equal(env.slot.battery_j, np.full(4, 0.5))


def test_a_task_past_its_deadline_is_a_miss():
    # VGG16 takes 538 ms on the device: 6 slots of 100 ms; the deadline gives it 3
    sc = one_user(
        models=("vgg16",), slot_duration_s=0.1, task_deadline_slots=3, drop_penalty=0.0,
        miss_penalty=2.0,
    )  # fmt: skip
    env = QueueEnv(sc)
    env.reset(seed=0)
    infos = [env.step_allocation(Allocation.all_local(env.slot))[-1] for _ in range(3)]
    assert [i["num_expired"] for i in infos] == [0, 0, 1]
    assert infos[-1]["reward_terms"]["miss"] == 2.0
    assert env.totals["expired"] == 1 and env.totals["completed"] == 0


def test_idle_users_cost_nothing():
    env = QueueEnv(Scenario.preset("default", arrival_rate=0.0))
    env.reset(seed=0)
    assert np.all(env.slot.head_state == IDLE)
    obs, reward, *_ = env.step_allocation(agents.make("li-gd").act(env.slot))
    assert reward == 0.0
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize("name", ["li-gd", "gd", "lyapunov", "greedy", "all-edge", "random"])
def test_v0_agents_act_on_queued_slots(name):
    # 20 ms slots: offloaded tasks span slots too
    env = QueueEnv(Scenario.preset("default", arrival_rate=0.7, slot_duration_s=0.02))
    env.reset(seed=2)
    agent = agents.make(name)
    states = set()
    for _ in range(25):
        allocation = agent.act(env.slot)
        allocation.check(env.slot)
        states.update(env.slot.head_state.tolist())
        env.step_allocation(allocation)
    if name in ("li-gd", "lyapunov"):
        assert {FRESH, OFFLOADING} <= states  # tasks in progress were among the slots


def test_exhaustive_is_optimal_on_a_queued_slot():
    env = QueueEnv(Scenario.preset("tiny", arrival_rate=1.0))
    env.reset(seed=0)
    for _ in range(4):
        slot = env.slot
        best = evaluate(slot, agents.make("exhaustive").act(slot)).cost
        assert evaluate(slot, agents.make("li-gd").act(slot)).cost <= best * (1 + 1e-6)
        env.step_allocation(agents.make("li-gd").act(slot))


@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0])
def test_lyapunov_weights_are_the_drift_plus_penalty_objective(lam):
    sc = Scenario.preset("default", arrival_rate=0.9, latency_weight=lam, battery_capacity_j=1.0)
    env = QueueEnv(sc)
    env.reset(seed=4)
    for _ in range(6):  # all-local: the queues grow
        env.step_allocation(Allocation.all_local(env.slot))
    env.step_allocation(agents.make("li-gd").act(env.slot))  # some tasks in progress
    slot, v = env.slot, 1.5
    assert slot.queue_length.max() > 1
    allocation = agents.make("li-gd").act(slot)
    out = evaluate(slot, allocation)
    weighted = evaluate(weighted_slot(slot, v), allocation)
    alpha = lam + np.maximum(slot.queue_length - 1, 0) / v
    beta = (1 - lam) * (1 + (1 - slot.battery_j / 1.0) / v)
    expected = alpha * out.latency / slot.t_ref + beta * out.energy / slot.e_ref
    ok = ~out.failed
    np.testing.assert_allclose(weighted.user_cost[ok], expected[ok], rtol=1e-12)


def test_lyapunov_is_its_base_solver_on_v0_slots_and_validates_v():
    env = NomaSplitEnv("default")
    env.reset(seed=0)
    assert agents.make("lyapunov").act(env.slot) == agents.make("li-gd").act(env.slot)
    for bad in (0.0, -1.0, float("inf"), "1", True):
        with pytest.raises(ValueError, match=r"Lyapunov\.v"):
            agents.make("lyapunov", v=bad)


def test_bad_input_names_the_field():
    with pytest.raises(ValueError, match=r"QueueEnv\.info_level"):
        QueueEnv(info_level="all")
    with pytest.raises(ValueError, match=r"Scenario\.arrival_rate.*bernoulli"):
        QueueEnv(arrival_rate=1.5)
    with pytest.raises(ValueError, match=r"Scenario\.arrival_process"):
        QueueEnv(arrival_process="uniform")
    with pytest.raises(ValueError, match=r"Scenario\.queue_capacity"):
        QueueEnv(queue_capacity=0)
    with pytest.raises(RuntimeError, match="reset"):
        _ = QueueEnv().slot
    env = QueueEnv()
    env.reset(seed=0)
    for bad in (None, env.action_space.sample()):  # not an Allocation: one clear line
        with pytest.raises(ValueError, match=r"evaluate\.allocation: got .*allowed: an Allocation"):
            env.step_allocation(bad)
    with pytest.raises(ValueError, match=r"QueueEnv\.render_mode"):
        QueueEnv(render_mode="rgb_array")
    for env_id in ("NomaSplit-queue-v0", "NomaSplit-v0"):  # a misspelt field, either env
        with pytest.raises(ValueError, match=r"unknown Scenario field\(s\) arival_rate; allowed"):
            gym.make(env_id, arival_rate=0.5)
    with pytest.raises(ValueError, match=r"Scenario\.replace: unknown"):
        Scenario().replace(queue_size=3)


def test_info_levels_keep_observations_and_rewards():
    runs = {}
    for level in ("full", "costs", "none"):
        env = QueueEnv(Scenario.preset("default", arrival_rate=0.6), info_level=level)
        env.reset(seed=5)
        agent = agents.make("greedy")
        out = [env.step_allocation(agent.act(env.slot)) for _ in range(10)]
        runs[level] = out
    for level in ("costs", "none"):
        for a, b in zip(runs["full"], runs[level], strict=True):
            np.testing.assert_array_equal(a[0], b[0])
            assert a[1] == b[1]
    assert set(runs["none"][0][-1]) == set()
    assert {"cost", "reward_terms", "num_dropped"} <= set(runs["costs"][0][-1])
    terms = runs["full"][-1][-1]["reward_terms"]
    assert sum(terms.values()) == pytest.approx(-runs["full"][-1][1], rel=1e-12)


def test_task_class_is_the_model_in_v0():
    env = NomaSplitEnv("dense")
    env.reset(seed=0)
    slot = env.slot
    same_class = slot.task_class[:, None] == slot.task_class[None, :]
    same_model = slot.model_index[:, None] == slot.model_index[None, :]
    np.testing.assert_array_equal(same_class, same_model)


def test_observe_gives_the_envs_observation_of_a_queued_slot():
    from noma_split_env import observe

    env = QueueEnv(Scenario.preset("default", arrival_rate=0.6))
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(observe(env.slot), obs)
    obs, *_ = env.step_allocation(agents.make("li-gd").act(env.slot))
    np.testing.assert_array_equal(observe(env.slot), obs)


def test_run_queued_rows_do_not_depend_on_the_workers(tmp_path):
    from train.queued import load_sweep, run_queued

    sc = Scenario.preset("default", arrival_rate=0.8, slot_duration_s=0.1)
    names = ["all-local", "greedy"]
    serial = run_queued(names, sc, seeds=[0, 1], steps=30, workers=1)
    parallel = run_queued(names, sc, seeds=[0, 1], steps=30, workers=2)
    for a, b in zip(serial, parallel, strict=True):
        a, b = dict(a), dict(b)
        a.pop("decision_time_s"), b.pop("decision_time_s")
        assert a == b
    row = serial[0]
    assert row["completed"] + row["dropped"] + row["expired"] <= row["arrived"]
    assert row["loss_rate"] == pytest.approx(row["drop_rate"] + row["miss_rate"])
    assert 0 <= row["loss_rate"] <= 1 and row["cost"] > 0
    summary = load_sweep(names, sc, [0.2, 0.9], [0, 1], tmp_path, steps=20, workers=1)
    assert {p.name for p in tmp_path.iterdir()} >= {"episodes.csv", "summary.csv", "load.png"}
    assert [(r["value"], r["agent"]) for r in summary] == [
        (0.2, "all-local"), (0.2, "greedy"), (0.9, "all-local"), (0.9, "greedy"),
    ]  # fmt: skip
    local = {r["value"]: r for r in summary if r["agent"] == "all-local"}
    assert local[0.9]["queue_mean"] > local[0.2]["queue_mean"]  # more load, longer queues


def test_queue_command_runs_and_rejects_bad_fields(tmp_path, capsys):
    from train.cli import main

    out = tmp_path / "q"
    argv = ["queue", "--agents", "all-local", "greedy", "--rates", "0.4", "--seeds", "1",
            "--steps", "10", "--out", str(out), "--no-progress-bar", "--workers", "1"]  # fmt: skip
    code = main(argv)
    assert code == 0 and (out / "load.png").exists()
    printed = capsys.readouterr().out
    assert "greedy" in printed
    assert "±n/a" in printed and "±nan" not in printed  # one seed: no interval
    assert main(["queue", "--rates", "0.4,1.5", "--steps", "5"]) == 2
    assert "arrival_rate" in capsys.readouterr().err
    assert main(["queue", "--set", "queue_capacty=3", "--steps", "5"]) == 2
    assert "queue_capacty" in capsys.readouterr().err


def test_env_queue_config_picks_its_tuned_section_and_refuses_what_does_not_fit():
    pytest.importorskip("stable_baselines3")
    from train.config import load_config

    config = load_config("ppo", overrides={"env": "queue"})
    assert config.env_id == "NomaSplit-queue-v0"
    assert config.hyperparams["gamma"] > 0 and config.reward == "cost"
    assert config.make_scenario().slot_duration_s == 0.1
    assert isinstance(config.make_env(), QueueEnv)
    with pytest.raises(ValueError, match=r"config\.reward.*queue"):
        load_config("ppo", overrides={"env": "queue", "reward": "log-cost"})
    cloned = load_config("ppo", overrides={"env": "queue", "init": "bc"})
    assert cloned.init == "bc" and cloned.env == "queue"
    with pytest.raises(ValueError, match=r"config\.env"):
        load_config("ppo", overrides={"env": "queued"})


def test_a_policy_trained_on_the_queued_env_acts_there(tmp_path, capsys):
    pytest.importorskip("stable_baselines3")
    import yaml

    from train.cli import main
    from train.sb3_agent import SB3Agent

    config = tmp_path / "q.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "env": "queue",
                "init": "none",
                "scenario": "tiny",
                "n_envs": 2,
                "eval_freq": 128,
                "eval_episodes": 1,
                "checkpoint_freq": 0,
                "scenario_overrides": {"max_episode_steps": 32, "arrival_rate": 0.6},
                "policy_kwargs": {"hidden": 16, "rounds": 1, "activation_fn": "tanh"},
                "hyperparams": {"n_steps": 64, "batch_size": 64, "n_epochs": 1},
            }
        )
    )
    runs = tmp_path / "runs"
    argv = ["train", "--algo", "ppo", "--config", str(config), "--timesteps", "128"]
    assert main([*argv, "--runs-dir", str(runs), "--no-progress-bar"]) == 0
    (run,) = list(runs.iterdir())
    assert run.name.startswith("queue-tiny__ppo__0__")
    assert "noma-split queue --run" in capsys.readouterr().out
    policy = SB3Agent(run)
    env = QueueEnv(policy.config.make_scenario())
    env.reset(seed=0)
    for _ in range(5):
        allocation = policy.act(env.slot)
        allocation.check(env.slot)
        env.step_allocation(allocation)
    with pytest.raises(ValueError, match="does not fit"):
        policy.check_scenario(Scenario.preset("default"))
    out = tmp_path / "cmp"
    argv = ["queue", "--scenario", "tiny", "--agents", "all-local", "--run", str(run),
            "--rates", "0.6", "--seeds", "1", "--steps", "8", "--out", str(out),
            "--no-progress-bar", "--workers", "1"]  # fmt: skip
    assert main(argv) == 0
    assert "ppo" in capsys.readouterr().out


def test_discounted_returns_stay_within_their_episode():
    from train.imitation import discounted

    rewards = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    episodes = np.array([0, 0, 0, 1, 1])
    np.testing.assert_array_equal(discounted(rewards, episodes, 0.0), rewards)
    np.testing.assert_allclose(
        discounted(rewards, episodes, 0.5), [1 + 0.5 * (2 + 0.5 * 4), 2 + 0.5 * 4, 4, 16, 16]
    )


def test_encode_inverts_decode_on_queued_slots():
    from noma_split_env.actions import ActionDecoder

    env = QueueEnv(Scenario.preset("default", arrival_rate=0.7, slot_duration_s=0.02))
    env.reset(seed=2)
    decoder = ActionDecoder(env.scenario)
    agent = agents.make("lyapunov")
    seen = set()
    for _ in range(20):
        slot = env.slot
        allocation = agent.act(slot)
        seen.update(slot.num_layers.tolist())
        back = decoder.decode(decoder.encode(allocation, slot), slot)
        np.testing.assert_array_equal(back.split, allocation.split)
        env.step_allocation(allocation)
    assert {0, 1} <= seen  # local or idle users and tasks in progress were encoded


def test_behaviour_cloning_on_the_queued_env_scores_the_clone_closed_loop(tmp_path, monkeypatch):
    pytest.importorskip("stable_baselines3")
    import json

    import yaml

    from train.cli import main

    monkeypatch.setenv("NOMA_SPLIT_CACHE", str(tmp_path / "cache"))
    config = tmp_path / "bc.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "env": "queue",
                "init": "bc",
                "scenario": "tiny",
                "n_envs": 2,
                "eval_freq": 0,
                "checkpoint_freq": 0,
                "scenario_overrides": {"arrival_rate": 0.8},
                "policy_kwargs": {"hidden": 16, "rounds": 1, "activation_fn": "tanh"},
                "hyperparams": {"n_steps": 64, "batch_size": 64, "n_epochs": 1, "gamma": 0.9},
                "bc": {
                    "expert": "lyapunov",
                    "episodes": 4,
                    "steps": 12,
                    "epochs": 2,
                    "holdout": 0.25,
                    "workers": 1,
                },
            }
        )
    )
    runs = tmp_path / "runs"
    argv = ["train", "--algo", "ppo", "--config", str(config), "--timesteps", "0"]
    assert main([*argv, "--runs-dir", str(runs), "--no-progress-bar"]) == 0
    (run,) = list(runs.iterdir())
    report = json.loads((run / "bc.json").read_text())
    ratio = report["result"]["holdout_cost_ratio"]
    assert np.isfinite(ratio) and ratio > 0
    assert any(
        p.name.startswith("queue-tiny-lyapunov-4x12") for p in (tmp_path / "cache").iterdir()
    )


def test_gymnasium_vector_modes_step_the_queued_env():
    for mode in ("sync", "async"):
        envs = gym.make_vec("NomaSplit-queue-tiny-v0", num_envs=2, vectorization_mode=mode)
        obs, _ = envs.reset(seed=0)
        envs.action_space.seed(0)
        for _ in range(3):
            obs, reward, _, _, info = envs.step(envs.action_space.sample())
        assert np.all(np.isfinite(reward)) and reward.shape == (2,)
        assert obs.shape == (2, envs.single_observation_space.shape[0])
        assert info["sojourn_s"].shape == (2, 2)
        envs.close()


def test_queue_command_keeps_a_folder_that_is_not_empty(tmp_path, capsys):
    from train.cli import main

    (tmp_path / "mine.txt").write_text("keep")
    argv = ["queue", "--agents", "all-local", "--steps", "5", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]
    assert main([*argv, "--overwrite", "--rates", "0.5", "--seeds", "1", "--workers", "1"]) == 0
    assert (tmp_path / "summary.csv").is_file() and (tmp_path / "mine.txt").is_file()
