"""The evaluation runner: determinism, identical dynamics across agents, files, summary."""

from __future__ import annotations

import csv
import json
import math
import statistics

import numpy as np
import pytest

import agents
from agents.base import BaseAgent
from agents.heuristics import AllEdge, AllLocal, RandomAgent
from agents.runner import (
    RECORD_SCHEMA,
    SUMMARY_SCHEMA,
    Records,
    Summary,
    plus_minus,
    run,
    t_quantile,
)
from noma_split_env import Allocation, Scenario, Slot

TIMING = {"decision_time_s"}


class Spy(BaseAgent):
    """Wraps an agent and records every slot it sees and every reset."""

    name = "spy"

    def __init__(self, inner: BaseAgent) -> None:
        super().__init__()
        self.inner = inner
        self.slots: list[Slot] = []
        self.resets: list[int | None] = []

    def reset(self, seed: int | None = None) -> None:
        self.resets.append(seed)
        self.inner.reset(seed)

    def _act(self, slot: Slot) -> Allocation:
        self.slots.append(slot)
        return self.inner.act(slot)


def without_timing(records: Records) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING} for row in records.rows]


# --------------------------------------------------------------------------- the run
def test_records_shape_and_order():
    records = run(["all-local", "all-edge"], "tiny", seeds=[3, 1], episodes_per_seed=2, max_steps=4)
    assert isinstance(records, Records)
    assert len(records) == 2 * 2 * 2 * 4
    assert records.columns == tuple(name for name, _, _ in RECORD_SCHEMA)
    keys = [(r["agent"], r["seed"], r["episode"], r["step"]) for r in records.rows]
    expected = [
        (a, s, e, t)
        for a in ("all-local", "all-edge")
        for s in (3, 1)
        for e in (0, 1)
        for t in range(4)
    ]
    assert keys == expected
    assert records.agents == ("all-local", "all-edge")
    for row in records.rows:
        for name, kind, _ in RECORD_SCHEMA:
            assert type(row[name]) is kind, name


def test_all_local_records_match_closed_form():
    records = run(["all-local"], "tiny", seeds=[0], max_steps=3)
    for row in records.rows:
        assert row["cost"] == 1.0
        assert row["t_up_s"] == row["t_edge_s"] == row["t_dl_s"] == 0.0
        assert row["latency_s"] == row["t_local_s"]
        assert row["edge_energy_j"] == 0.0
        assert row["offloading"] == 0


def test_same_seeds_give_identical_records():
    names = ["all-local", "all-edge", "random", "greedy"]
    first = run(names, "default", seeds=[0, 5], episodes_per_seed=2, max_steps=3)
    second = run(names, "default", seeds=[0, 5], episodes_per_seed=2, max_steps=3)
    assert without_timing(first) == without_timing(second)


def test_different_seeds_give_different_channels():
    a = run(["all-edge"], "default", seeds=[0], max_steps=3)
    b = run(["all-edge"], "default", seeds=[1], max_steps=3)
    assert a.column("cost") != b.column("cost")


def test_agents_see_identical_slots_whatever_they_do():
    spies = {"local": Spy(AllLocal()), "edge": Spy(AllEdge()), "random": Spy(RandomAgent())}
    run(spies, "default", seeds=[0, 1], episodes_per_seed=2, max_steps=5)
    reference = spies["local"].slots[1:]  # after the untimed warm-up call
    assert len(reference) == 2 * 2 * 5
    for spy in spies.values():
        assert len(spy.slots) == 1 + len(reference)
        np.testing.assert_array_equal(spy.slots[0].ul_gain, reference[0].ul_gain)
        for mine, ref in zip(spy.slots[1:], reference, strict=True):
            np.testing.assert_array_equal(mine.ul_gain, ref.ul_gain)
            np.testing.assert_array_equal(mine.dl_gain, ref.dl_gain)
            np.testing.assert_array_equal(mine.model_index, ref.model_index)
            np.testing.assert_array_equal(mine.distance_m, ref.distance_m)
    # episodes differ from one another (the second episode is not a replay of the first)
    assert not np.array_equal(reference[0].ul_gain, reference[5].ul_gain)


def test_agent_reset_with_the_seed_at_each_seed_series():
    spy = Spy(AllLocal())
    run({"spy": spy}, "tiny", seeds=[4, 2], episodes_per_seed=3, max_steps=1)
    # the warm-up (reset 4, one act on seed 4's first slot), then the episodes
    assert spy.resets == [4, 4, None, None, 2, None, None]
    assert len(spy.slots) == 1 + 2 * 3


def test_seeded_random_agent_is_reproducible_through_the_runner():
    first = run({"r": RandomAgent()}, "tiny", seeds=[0, 1], episodes_per_seed=2, max_steps=3)
    second = run(
        {"r": RandomAgent(seed=99)}, "tiny", seeds=[0, 1], episodes_per_seed=2, max_steps=3
    )
    assert without_timing(first) == without_timing(second)


def test_max_steps_defaults_to_and_is_capped_at_the_episode_length():
    scenario = Scenario.preset("tiny", max_episode_steps=6)
    assert len(run(["all-local"], scenario, seeds=[0])) == 6
    assert len(run(["all-local"], scenario, seeds=[0], max_steps=50)) == 6
    assert len(run(["all-local"], scenario, seeds=[0], max_steps=2)) == 2


def test_mapping_labels_and_a_single_name():
    records = run({"mine": AllEdge(), "named": "all-local"}, "tiny", seeds=[0], max_steps=1)
    assert records.agents == ("mine", "named")
    assert run("greedy", "tiny", seeds=[0], max_steps=1).agents == ("greedy",)


def test_stats_are_recorded():
    records = run(["greedy"], "default", seeds=[0], max_steps=3)
    for row in records.rows:
        assert row["iterations"] >= 1
        assert row["evaluations"] >= 2
        assert row["decision_time_s"] >= 0.0


# --------------------------------------------------------------------------- validation
def test_unknown_agent_names_list_the_available_ones():
    with pytest.raises(ValueError, match="'nope', 'nada'") as err:
        run(["all-local", "nope", "nada"], "tiny", seeds=[0])
    for name in agents.available():
        assert name in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seeds": []}, "run.seeds"),
        ({"seeds": [-1]}, "run.seeds"),
        ({"seeds": [0, 0]}, "distinct"),
        ({"seeds": [0.5]}, "run.seeds"),
        ({"seeds": [0], "episodes_per_seed": 0}, "episodes_per_seed"),
        ({"seeds": [0], "max_steps": 0}, "max_steps"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run(["all-local"], "tiny", **kwargs)


def test_invalid_agents():
    with pytest.raises(ValueError, match="no agents"):
        run([], "tiny", seeds=[0])
    with pytest.raises(ValueError, match="appears twice"):
        run(["all-local", "all-local"], "tiny", seeds=[0])
    with pytest.raises(ValueError, match="an Agent"):
        run({"bad": object()}, "tiny", seeds=[0])


def test_agent_errors_say_where_they_happened():
    class Failing(BaseAgent):
        def _act(self, slot: Slot) -> Allocation:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom") as err:
        run({"failing": Failing()}, "tiny", seeds=[7], max_steps=1)
    notes = getattr(err.value, "__notes__", None)
    if notes is not None:  # Python >= 3.11
        assert "'failing', seed 7" in notes[0]


# --------------------------------------------------------------------------- files
def test_csv_and_json_round_trip(tmp_path):
    records = run(["all-edge", "random"], "tiny", seeds=[0, 1], max_steps=3)
    csv_path = records.to_csv(tmp_path / "records.csv")
    json_path = records.to_json(tmp_path / "records.json")
    assert Records.from_csv(csv_path) == records
    assert Records.from_json(json_path) == records
    with csv_path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == records.columns
    assert len(rows) == len(records) + 1
    with json_path.open() as f:
        data = json.load(f)
    assert data[0]["agent"] == "all-edge" and data[0]["cost"] == records.rows[0]["cost"]


def test_summary_files_handle_nan(tmp_path):
    summary = run(["all-local"], "tiny", seeds=[0], max_steps=2).summary()
    assert math.isnan(summary.rows[0]["cost_ci_half_width"])  # one episode: no interval
    with summary.to_json(tmp_path / "summary.json").open() as f:
        assert json.load(f)[0]["cost_ci_half_width"] is None  # strict JSON
    assert Summary.from_json(tmp_path / "summary.json") == summary
    assert Summary.from_csv(summary.to_csv(tmp_path / "summary.csv")) == summary


def test_format_is_aligned_text():
    summary = run(["all-local", "all-edge"], "tiny", seeds=[0, 1], max_steps=2).summary()
    lines = summary.format(["agent", "cost_mean"]).splitlines()
    assert lines[0].split() == ["agent", "cost_mean"]
    assert lines[1].split()[0] == "all-local" and float(lines[1].split()[1]) == 1.0
    assert len(lines) == 3
    with pytest.raises(ValueError, match="no_such_column"):
        summary.format(["no_such_column"])


# --------------------------------------------------------------------------- summary
def test_summary_matches_a_hand_computation():
    records = run(["all-edge", "greedy"], "default", seeds=[0, 1, 2], max_steps=4)
    summary = records.summary()
    assert summary.columns == tuple(name for name, _, _ in SUMMARY_SCHEMA)
    assert summary.column("agent") == ["all-edge", "greedy"]
    t_975_2 = 4.302652729749464  # Student t, 97.5% quantile, 2 degrees of freedom
    for row in summary.rows:
        mine = [r for r in records.rows if r["agent"] == row["agent"]]
        costs = [r["cost"] for r in mine]
        episodes = [np.mean([r["cost"] for r in mine if r["seed"] == s]) for s in (0, 1, 2)]
        half = t_975_2 * np.std(episodes, ddof=1) / np.sqrt(3)
        assert row["episodes"] == 3 and row["slots"] == 12
        assert row["cost_mean"] == pytest.approx(np.mean(costs), rel=1e-12)
        assert row["cost_mean"] == pytest.approx(np.mean(episodes), rel=1e-12)
        assert row["cost_ci_half_width"] == pytest.approx(half, rel=1e-9)
        assert row["cost_ci_low"] == pytest.approx(np.mean(costs) - half, rel=1e-9)
        assert row["cost_ci_high"] == pytest.approx(np.mean(costs) + half, rel=1e-9)
        assert row["cost_median"] == np.median(costs)
        assert row["latency_ms"] == pytest.approx(1e3 * np.mean([r["latency_s"] for r in mine]))
        assert row["t_up_ms"] == pytest.approx(1e3 * np.mean([r["t_up_s"] for r in mine]))
        for name in ("device_energy_j", "edge_energy_j", "iterations"):
            assert row[name] == pytest.approx(np.mean([r[name] for r in mine]))
        assert row["decision_time_ms"] == pytest.approx(
            1e3 * np.mean([r["decision_time_s"] for r in mine])
        )
        users = sum(r["num_users"] for r in mine)
        assert row["miss_rate"] == sum(r["misses"] for r in mine) / users
        assert row["offload_rate"] == sum(r["offloading"] for r in mine) / users


def test_summary_over_slots_and_confidence_level():
    records = run(["all-edge"], "tiny", seeds=[0, 1], max_steps=5)
    costs = records.column("cost")
    row = records.summary(confidence=0.9, over="slot").rows[0]
    half = t_quantile(0.95, len(costs) - 1) * statistics.stdev(costs) / math.sqrt(len(costs))
    assert row["cost_ci_half_width"] == pytest.approx(half, rel=1e-12)
    with pytest.raises(ValueError, match="confidence"):
        records.summary(confidence=1.5)
    with pytest.raises(ValueError, match="over"):
        records.summary(over="step")


def test_summary_with_misses():
    scenario = Scenario.preset("tiny", deadline_s=1e-3)  # everything misses a 1 ms deadline
    row = run(["all-local"], scenario, seeds=[0, 1], max_steps=2).summary().rows[0]
    assert row["miss_rate"] == 1.0
    assert row["cost_mean"] == pytest.approx(2.0)  # 1 + mu * K / K


# Reference quantiles from standard tables (df <= 30) and mpmath (regularized incomplete beta).
@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.706204736),
        (0.975, 2, 4.302652730),
        (0.975, 4, 2.776445105),
        (0.975, 9, 2.262157163),
        (0.975, 30, 2.042272456),
        (0.975, 999, 1.962341461),
        (0.975, 5000, 1.960438552),
        (0.995, 5, 4.032142984),
        (0.95, 3, 2.353363435),
        (0.025, 4, -2.776445105),
        (0.5, 7, 0.0),
    ],
)
def test_t_quantile_matches_tables(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize(("p", "df"), [(0.0, 3), (1.0, 3), (0.9, 0), (0.9, 2.5)])
def test_t_quantile_rejects_bad_arguments(p, df):
    with pytest.raises(ValueError, match="t_quantile"):
        t_quantile(p, df)


# --------------------------------------------------------------------------- parallel
class FailsOnSeed(BaseAgent):
    """All-local, except that it raises on the slots of one seed (module level: the
    worker processes unpickle it)."""

    name = "fails-on-seed"

    def __init__(self, bad_seed: int) -> None:
        super().__init__()
        self.bad_seed = bad_seed
        self.seed: int | None = None

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.seed = seed

    def _act(self, slot: Slot) -> Allocation:
        if self.seed == self.bad_seed:
            raise ValueError("boom")
        return Allocation.all_local(slot)


PARALLEL = {"seeds": [3, 0, 5], "episodes_per_seed": 2, "max_steps": 3}


@pytest.fixture(scope="module")
def serial_records() -> Records:
    return run(["li-gd", "greedy", "random"], "default", **PARALLEL)


def test_process_workers_give_the_serial_records(serial_records):
    parallel = run(["li-gd", "greedy", "random"], "default", workers=2, **PARALLEL)
    assert len(parallel) == len(serial_records) == 3 * 3 * 2 * 3
    assert without_timing(parallel) == without_timing(serial_records)


def test_ray_workers_give_the_serial_records(serial_records):
    pytest.importorskip("ray")
    on_ray = run(["li-gd", "greedy", "random"], "default", workers=2, backend="ray", **PARALLEL)
    assert without_timing(on_ray) == without_timing(serial_records)


def test_built_agents_are_copied_into_the_workers():
    built = {"edge": AllEdge(), "named": "all-local"}
    serial = run(built, "tiny", seeds=[0, 1], max_steps=2)
    assert without_timing(run(built, "tiny", seeds=[0, 1], max_steps=2, workers=2)) == (
        without_timing(serial)
    )


def test_a_failing_worker_task_names_its_agent_and_seed():
    with pytest.raises(ValueError, match="boom") as err:
        run({"flaky": FailsOnSeed(4)}, "tiny", seeds=[1, 4, 6], max_steps=1, workers=2)
    notes = " ".join(getattr(err.value, "__notes__", []))
    if hasattr(err.value, "add_note"):  # Python >= 3.11
        assert "agent 'flaky', seed 4" in notes


def test_parallel_argument_errors(monkeypatch):
    class Unpicklable(AllLocal):
        def __init__(self) -> None:
            super().__init__()
            self.hook = lambda: None

    with pytest.raises(ValueError, match=r"agent 'mine', seed 0.*cannot be sent"):
        run({"mine": Unpicklable()}, "tiny", seeds=[0, 1], workers=2)
    with pytest.raises(ValueError, match=r"run.backend: got 'dask', allowed: process, ray"):
        run(["all-local"], "tiny", seeds=[0], backend="dask")
    with pytest.raises(ValueError, match=r"run.address: .*only with backend='ray'"):
        run(["all-local"], "tiny", seeds=[0], address="auto")
    with pytest.raises(ValueError, match="run.workers"):
        run(["all-local"], "tiny", seeds=[0], workers=0)
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # Ray not installed
    with pytest.raises(ImportError, match=r'pip install "noma-split\[ray\]"'):
        run(["all-local"], "tiny", seeds=[0, 1], workers=2, backend="ray")


def test_an_unreachable_ray_cluster_is_one_line():
    pytest.importorskip("ray")
    with pytest.raises(ConnectionError, match=r"cannot reach a Ray cluster at '127.0.0.1:1'"):
        run(["all-local"], "tiny", seeds=[0, 1], workers=2, backend="ray", address="127.0.0.1:1")


def test_one_task_or_one_worker_runs_here():
    """workers=None means every core; with a single task no pool is started (the
    agent's state is then the caller's, as with workers=1)."""
    spy = Spy(AllLocal())
    run({"spy": spy}, "tiny", seeds=[2], max_steps=2, workers=None)
    assert len(spy.slots) == 3  # the warm-up and two slots, seen here


def test_plus_minus_says_n_a_where_the_interval_is_undefined():
    assert plus_minus(0.01234) == "±0.0123"
    assert plus_minus(1.25, ".1f", " ") == "± 1.2"
    assert plus_minus(math.nan) == "±n/a"
