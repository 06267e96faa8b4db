"""``noma-split train``: every algorithm trains and saves, seeds reproduce, Ctrl-C
resumes, bad input fails in one line. Tiny budgets on the ``tiny`` scenario."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from noma_split_env import NomaSplitEnv
from noma_split_env.files import atomic_write
from train import training
from train.cli import main
from train.config import ALGORITHMS, CONFIG_DIR, algorithm_class, load_config
from train.sb3_agent import SB3Agent

TINY = {
    "ppo": {"n_steps": 32, "batch_size": 32, "n_epochs": 2},
    "a2c": {"n_steps": 8},
    "sac": {"learning_starts": 64, "batch_size": 32, "buffer_size": 2000},
    "td3": {"learning_starts": 64, "batch_size": 32, "buffer_size": 2000},
}
"""Hyperparameters that make a 256-step run do some learning in a second."""
SMALL = {
    "ppo": {"hidden": 16, "rounds": 1},  # PerUserPolicy, the default of ppo and a2c
    "a2c": {"hidden": 16, "rounds": 1},
    "sac": {"net_arch": [16]},
    "td3": {"net_arch": [16]},
}

RUN_FILES = ("model.zip", "config.yaml", "vecnormalize.pkl", "learning_curve.csv")


def tiny_config(tmp_path: Path, algo: str, **extra: object) -> Path:
    """A user config file: small network, small batches, frequent evaluations."""
    data = {
        "algo": algo,
        "scenario": "tiny",
        "n_envs": 2,
        "eval_freq": 128,
        "eval_episodes": 2,
        "checkpoint_freq": 128,
        "scenario_overrides": {"max_episode_steps": 16},
        "policy_kwargs": SMALL[algo],
        "hyperparams": TINY[algo],
        **extra,
    }
    path = tmp_path / f"{algo}_tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def only_run(runs: Path) -> Path:
    (run,) = list(runs.iterdir())
    return run


def quiet(_: str) -> None:
    """A ``log`` that drops the notes."""


def ctrl_c_at(monkeypatch, steps: int) -> None:
    """Make the next run raise KeyboardInterrupt (a Ctrl-C) once it has trained ``steps``."""

    def ctrl_c() -> None:
        raise KeyboardInterrupt

    fail_at(monkeypatch, steps, ctrl_c)


def fail_at(monkeypatch, steps: int, fail) -> None:
    """Make the next runs call ``fail()`` (which raises) once they have trained ``steps``."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Fail(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps >= steps:
                fail()
            return True

    real = training._callbacks

    def with_failure(*args, **kwargs):
        callbacks, evaluation = real(*args, **kwargs)
        return [*callbacks, Fail()], evaluation

    monkeypatch.setattr(training, "_callbacks", with_failure)


def test_default_configs_are_valid() -> None:
    for algo in ALGORITHMS:
        cfg = load_config(algo)
        assert cfg.algo == algo
        assert (CONFIG_DIR / f"{algo}.yaml").is_file()


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_each_algorithm_trains_and_saves(tmp_path: Path, algo: str, capsys) -> None:
    runs = tmp_path / "runs"
    argv = ["train", "--algo", algo, "--timesteps", "256", "--seed", "3"]
    argv += ["--config", str(tiny_config(tmp_path, algo)), "--runs-dir", str(runs)]
    assert main([*argv, "--no-progress-bar"]) == 0
    run = only_run(runs)
    assert run.name.startswith(f"tiny__{algo}__3__")
    for name in (*RUN_FILES, "learning_curve.png", "eval/evaluations.npz"):
        assert (run / name).is_file(), name
    assert any((run / "tb").rglob("events.out.tfevents.*"))
    assert (run / "checkpoints" / "model_256_steps.zip").is_file()
    assert not list(run.rglob(".*")), "temporary files of atomic writes left behind"
    curve = training.read_curve(run)
    assert [r["timesteps"] for r in curve] == [0, 128, 256]
    with np.load(run / "eval" / "evaluations.npz") as log:
        assert log["timesteps"].tolist() == [r["timesteps"] for r in curve]
        assert log["results"].shape == log["ep_lengths"].shape == (len(curve), 2)
    assert all(np.isfinite(r["cost_mean"]) and r["cost_mean"] > 0 for r in curve)
    saved = load_config(path=run / "config.yaml")
    assert saved == load_config(algo, tiny_config(tmp_path, algo), {"timesteps": 256, "seed": 3})
    out = capsys.readouterr().out
    assert f"run folder: {run}" in out


def test_mlp_policy_and_box_view_for_ppo(tmp_path: Path) -> None:
    path = tiny_config(
        tmp_path,
        "ppo",
        timesteps=256,
        policy="MlpPolicy",
        action_view="box",
        policy_kwargs={"net_arch": [8]},
    )
    result = training.train(load_config(path=path), tmp_path / "runs", progress_bar=False)
    agent_config = load_config(path=result.run_dir / "config.yaml")
    assert (agent_config.policy, agent_config.action_view) == ("MlpPolicy", "box")
    assert result.timesteps == 256 and not result.interrupted


def test_same_seed_same_model(tmp_path: Path) -> None:
    cfg = load_config("ppo", tiny_config(tmp_path, "ppo"), {"timesteps": 256, "seed": 1})
    first = training.train(cfg, tmp_path / "a", progress_bar=False)
    second = training.train(cfg, tmp_path / "b", progress_bar=False)
    other = training.train(cfg.replace(seed=2), tmp_path / "c", progress_bar=False)
    assert first.curve == second.curve
    params = [_parameters(r.model_path) for r in (first, second, other)]
    assert all(np.array_equal(a, b) for a, b in zip(params[0], params[1], strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(params[0], params[2], strict=True))


def _parameters(path: Path, algo: str = "ppo") -> list[np.ndarray]:
    model = algorithm_class(algo).load(path, device="cpu")
    return [p.detach().numpy().copy() for p in model.policy.parameters()]


@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_off_policy_from_a_clone_is_reproducible_and_acts(
    tmp_path: Path, algo: str, monkeypatch
) -> None:
    """SAC and TD3 with ``init: bc``, the per-user policy and an actor warm-up: the
    clone is scored in bc.json, RL follows it, and the same config gives the same
    weights; the run is an agent."""
    monkeypatch.setenv("NOMA_SPLIT_CACHE", str(tmp_path / "cache"))
    path = tiny_config(
        tmp_path,
        algo,
        timesteps=192,
        init="bc",
        bc={"episodes": 6, "steps": 10, "epochs": 2, "workers": 1, "holdout": 0.2},
        actor_warmup=64,
        policy="PerUserPolicy",
        policy_kwargs={"hidden": 8, "rounds": 1, "critic_rounds": 1},
    )
    cfg = load_config(path=path)
    runs = [training.train(cfg, tmp_path / name, progress_bar=False) for name in "ab"]
    assert runs[0].curve == runs[1].curve and runs[0].timesteps == 192
    params = [_parameters(r.model_path, algo) for r in runs]
    assert all(np.array_equal(a, b) for a, b in zip(*params, strict=True))
    bc = json.loads((runs[0].run_dir / "bc.json").read_text())["result"]
    assert bc["samples"] == 50 and np.isfinite(bc["holdout_cost_ratio"])
    agent = SB3Agent(runs[0].run_dir)
    env = NomaSplitEnv(cfg.make_scenario())
    env.reset(seed=5)
    assert np.isfinite(env.step_allocation(agent.act(env.slot))[4]["cost"])


def test_ctrl_c_saves_a_checkpoint_and_resumes(tmp_path: Path, monkeypatch, capsys) -> None:
    real = training._callbacks
    runs = tmp_path / "runs"
    argv = ["train", "--timesteps", "256", "--config", str(tiny_config(tmp_path, "ppo"))]
    argv += ["--runs-dir", str(runs), "--no-progress-bar"]
    ctrl_c_at(monkeypatch, 160)
    assert main(argv) == 130
    run = only_run(runs)
    err = capsys.readouterr().err
    assert f"resume with: noma-split train --resume {run}" in err
    assert [line for line in err.splitlines() if line.strip()] == [err.strip()]  # one line
    assert err.strip().startswith("noma-split train: interrupted at step 160")
    assert not (run / "model.zip").exists()
    assert (run / "checkpoints" / "model_160_steps.zip").is_file()
    assert (run / "checkpoints" / "model_vecnormalize_160_steps.pkl").is_file()

    monkeypatch.setattr(training, "_callbacks", real)
    assert main(["train", "--resume", str(run), "--no-progress-bar"]) == 0
    assert all((run / name).is_file() for name in RUN_FILES)
    steps = [r["timesteps"] for r in training.read_curve(run)]
    # PPO learns whole rollouts of 2 x 32 steps: 160 + 2 x 64 = 288
    assert steps == [0, 128, 160, 288]
    assert main(["train", "--resume", str(run), "--no-progress-bar"]) == 2
    assert "already trained 288 of 256 steps" in capsys.readouterr().err


def test_console_script_trains(tmp_path: Path) -> None:
    """The installed ``noma-split`` command, in a fresh process."""
    script = Path(sys.executable).with_name("noma-split")
    runs = tmp_path / "runs"
    argv = [str(script), "train", "--algo", "a2c", "--timesteps", "256"]
    argv += ["--config", str(tiny_config(tmp_path, "a2c")), "--runs-dir", str(runs)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "trained 256 steps" in done.stdout
    assert all((only_run(runs) / name).is_file() for name in RUN_FILES)


def _fails(argv: list[str], capsys, *needles: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("noma-split train: error:"), err
    for needle in needles:
        assert needle in err, err
    return err


def test_bad_input_is_one_line(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["train", "--algo", "dqn"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown algorithm 'dqn'" in err and "a2c, ppo, sac, td3" in err
    with pytest.raises(SystemExit):
        main(["train", "--scenario", "huge"])
    err = capsys.readouterr().err
    assert "unknown scenario 'huge'" in err and "tiny, default, dense, massive" in err
    with pytest.raises(SystemExit):
        main(["train", "--timesteps", "-5"])
    assert "--timesteps: must be >= 0, got -5" in capsys.readouterr().err

    bad = tmp_path / "bad.yaml"
    bad.write_text("algo: ppo\nhyperparams: {learning_rate: [\n")
    _fails(["train", "--config", str(bad)], capsys, "not valid YAML")
    bad.write_text("algo: ppo\nbatchsize: 3\n")
    _fails(["train", "--config", str(bad)], capsys, "unknown setting(s) batchsize")
    bad.write_text("algo: ppo\nhyperparams: {n_step: 3}\n")
    _fails(["train", "--config", str(bad)], capsys, "unknown ppo argument(s) n_step", "n_steps")
    bad.write_text("algo: ppo\npolicy_kwargs: {net_arch: [8]}\n")
    _fails(["train", "--config", str(bad)], capsys, "unknown PerUserPolicy argument(s) net_arch")
    bad.write_text("algo: sac\npolicy: PerUserPolicy\npolicy_kwargs: {net_arch: [8]}\n")
    _fails(["train", "--config", str(bad)], capsys, "unknown PerUserPolicy argument(s) net_arch")
    bad.write_text("algo: sac\naction_view: multidiscrete\n")
    _fails(["train", "--config", str(bad)], capsys, "action_view", "box for sac")
    _fails(["train", "--algo", "ppo", "--config", str(bad)], capsys, "is for algo 'sac'")
    _fails(["train", "--config", str(tmp_path / "missing.yaml")], capsys, "does not exist")
    _fails(["train", "--resume", str(tmp_path)], capsys, "is not a run folder")


@pytest.mark.slow
def test_same_command_same_model_across_processes(tmp_path: Path) -> None:
    """Two fresh processes, the tuned PPO config of ``default`` (behaviour cloning of
    Li-GD, then PPO) with a smaller expert dataset and 20k steps: identical models.
    Each process makes its own expert data (its own cache)."""
    script = Path(sys.executable).with_name("noma-split")
    config = tmp_path / "small_bc.yaml"
    config.write_text("bc: {episodes: 20, steps: 10, epochs: 3}\n")
    for name in ("a", "b"):
        argv = [str(script), "train", "--timesteps", "20000", "--runs-dir", str(tmp_path / name)]
        argv += ["--config", str(config)]
        env = {**os.environ, "NOMA_SPLIT_CACHE": str(tmp_path / f"cache-{name}")}
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=900, check=False, env=env
        )
        assert done.returncode == 0, done.stderr
        assert "expert data: 200 slots of li-gd in" in done.stderr
    first, second = only_run(tmp_path / "a"), only_run(tmp_path / "b")
    assert training.read_curve(first) == training.read_curve(second)
    for a, b in zip(
        _parameters(first / "model.zip"), _parameters(second / "model.zip"), strict=True
    ):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- hardening
def test_runs_started_in_the_same_second_get_distinct_folders(tmp_path: Path) -> None:
    config = load_config("ppo", overrides={"scenario": "tiny"})
    when = datetime(2026, 1, 2, 3, 4, 5)
    first, second = (training.new_run_dir(tmp_path / "runs", config, when) for _ in range(2))
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name == training.run_name(config, when)
    assert second.name.startswith(first.name)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A finished tiny PPO run: checkpoints at 128 and 256 steps, then model.zip."""
    tmp = tmp_path_factory.mktemp("finished")
    config = load_config(path=tiny_config(tmp, "ppo"), overrides={"timesteps": 256})
    return training.train(config, tmp / "runs", progress_bar=False, log=quiet).run_dir


def copy_of(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


@pytest.mark.parametrize(
    ("broken", "content"),
    [("model", b""), ("vecnormalize", b""), ("vecnormalize", b"not a pickle")],
)
def test_resume_skips_a_newest_checkpoint_that_does_not_load(
    finished_run: Path, tmp_path: Path, broken: str, content: bytes
) -> None:
    run = copy_of(finished_run, tmp_path)
    newest, previous = training.list_checkpoints(run)[:2]
    path = getattr(newest, broken)
    path.write_bytes(content)
    notes: list[str] = []
    result = training.resume(run, 512, progress_bar=False, log=notes.append)
    assert notes[0].startswith(f"skipping checkpoints/{newest.model.name}: ")
    assert (path.name if broken != "model" else "the model") in notes[0]
    assert notes[1].startswith(f"resuming from checkpoints/{previous.model.name}")
    assert result.timesteps == load_config(path=run / "config.yaml").effective_timesteps(
        previous.steps
    )
    assert result.curve[-1]["timesteps"] == result.timesteps


def test_resume_falls_back_to_model_zip_then_fails_in_one_line(
    finished_run: Path, tmp_path: Path, capsys
) -> None:
    run = copy_of(finished_run, tmp_path)
    for files in training.list_checkpoints(run):
        files.model.write_bytes(b"")
    notes: list[str] = []
    result = training.resume(run, 320, progress_bar=False, log=notes.append)
    assert any(n.startswith("resuming from model.zip") for n in notes), notes
    assert not result.interrupted and result.timesteps >= 320

    saved = [*training.list_checkpoints(run), training.final_files(run)]
    for files in saved:
        files.model.write_bytes(b"")
    err = _fails(["train", "--resume", str(run), "--timesteps", "1024"], capsys, "no saved model")
    assert all(f"{f.model.relative_to(run).as_posix()}: the model" in err for f in saved), err


def test_resume_ignores_a_truncated_evaluation_log(finished_run: Path, tmp_path: Path) -> None:
    run = copy_of(finished_run, tmp_path)
    log = run / "eval" / "evaluations.npz"
    log.write_bytes(b"")
    notes: list[str] = []
    result = training.resume(run, 512, progress_bar=False, log=notes.append)
    assert any(n.startswith("ignoring eval/evaluations.npz") for n in notes), notes
    resumed_at = result.curve[0]["timesteps"]
    assert resumed_at == training.checkpoint_steps(training.list_checkpoints(finished_run)[0].model)
    with np.load(log) as data:  # written anew, complete
        assert data["timesteps"].tolist() == [r["timesteps"] for r in result.curve]


def test_deferred_sigint_holds_ctrl_c_until_the_block_is_done(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGINT)
    saved = tmp_path / "saved.txt"
    with pytest.raises(KeyboardInterrupt), training.deferred_sigint() as received:
        os.kill(os.getpid(), signal.SIGINT)
        with atomic_write(saved) as f:
            f.write("complete")
        held = list(received)
    assert held == [signal.SIGINT]
    assert saved.read_text() == "complete"
    assert signal.getsignal(signal.SIGINT) is before

    with training.deferred_sigint(reraise=False) as received:
        os.kill(os.getpid(), signal.SIGINT)
        saved.write_text("again")
    assert received == [signal.SIGINT] and saved.read_text() == "again"
    assert signal.getsignal(signal.SIGINT) is before

    errors: list[BaseException] = []

    def elsewhere() -> None:  # no handlers outside the main thread: the block just runs
        try:
            with training.deferred_sigint() as received:
                assert received == []
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert errors == []


def test_a_second_ctrl_c_during_the_save_keeps_the_checkpoint(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    before = signal.getsignal(signal.SIGINT)
    real_save = training.save_model

    def impatient_save(model, files):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C again while the checkpoint is saved
        return real_save(model, files)

    ctrl_c_at(monkeypatch, 96)
    monkeypatch.setattr(training, "save_model", impatient_save)
    runs = tmp_path / "runs"
    config = tiny_config(tmp_path, "ppo", checkpoint_freq=0)
    argv = ["train", "--timesteps", "256", "--config", str(config), "--runs-dir", str(runs)]
    assert main([*argv, "--no-progress-bar"]) == 130
    run = only_run(runs)
    assert f"--resume {run}" in capsys.readouterr().err
    checkpoint = training.latest_checkpoint(run)
    assert checkpoint is not None and training.checkpoint_steps(checkpoint) >= 96
    assert SB3Agent(checkpoint).model.num_timesteps == training.checkpoint_steps(checkpoint)
    assert signal.getsignal(signal.SIGINT) is before


def test_a_failing_run_removes_what_it_created(tmp_path: Path, monkeypatch) -> None:
    from stable_baselines3.common.callbacks import BaseCallback

    class Boom(BaseCallback):
        def _on_step(self) -> bool:
            raise RuntimeError("boom")

    real = training._callbacks

    def with_boom(*args):
        callbacks, evaluation = real(*args)
        return [*callbacks, Boom()], evaluation

    monkeypatch.setattr(training, "_callbacks", with_boom)
    config = load_config(path=tiny_config(tmp_path, "ppo"), overrides={"timesteps": 64})
    runs = tmp_path / "runs"
    with pytest.raises(RuntimeError, match="boom"):
        training.train(config, runs, progress_bar=False)
    assert list(runs.iterdir()) == []
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(RuntimeError, match="boom"):
        training.train(config, run_dir=mine, progress_bar=False)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_a_late_error_keeps_the_run_and_its_checkpoints(tmp_path: Path, monkeypatch) -> None:
    def boom() -> None:
        raise RuntimeError("boom at step 200")

    real = training._callbacks
    fail_at(monkeypatch, 200, boom)
    config = load_config(
        path=tiny_config(tmp_path, "ppo", checkpoint_freq=32), overrides={"timesteps": 256}
    )
    runs = tmp_path / "runs"
    notes: list[str] = []
    with pytest.raises(RuntimeError, match="boom at step 200"):
        training.train(config, runs, progress_bar=False, log=notes.append)
    run = only_run(runs)
    assert (run / "config.yaml").is_file() and not (run / "model.zip").exists()
    assert [f.steps for f in training.list_checkpoints(run)] == list(range(192, 0, -32))
    assert notes == [
        f"keeping {run}: it holds saved models; resume with: noma-split train --resume {run}"
    ]

    mine = tmp_path / "mine"  # a given run folder is kept alike, with what it held
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(RuntimeError, match="boom"):
        training.train(config, run_dir=mine, progress_bar=False, log=quiet)
    assert (mine / "notes.txt").read_text() == "keep"
    assert training.checkpoint_steps(training.latest_checkpoint(mine)) == 192

    monkeypatch.setattr(training, "_callbacks", real)
    result = training.resume(run, progress_bar=False, log=quiet)  # the checkpoints are of value
    assert not result.interrupted and result.timesteps == 256


def test_a_ctrl_c_inside_numba_code_is_a_ctrl_c(tmp_path: Path, monkeypatch, capsys) -> None:
    """numba turns a Ctrl-C in a compiled kernel into a SystemError caused by it."""

    def numba_ctrl_c() -> None:
        raise SystemError("x") from KeyboardInterrupt()

    real = training._callbacks
    fail_at(monkeypatch, 96, numba_ctrl_c)
    runs = tmp_path / "runs"
    config = tiny_config(tmp_path, "ppo", checkpoint_freq=0)
    argv = ["train", "--timesteps", "256", "--config", str(config), "--runs-dir", str(runs)]
    assert main([*argv, "--no-progress-bar"]) == 130
    run = only_run(runs)
    err = capsys.readouterr().err
    assert err.strip().startswith("noma-split train: interrupted at step 96: checkpoint saved")
    assert f"--resume {run}" in err and err.strip().count("\n") == 0
    assert training.checkpoint_steps(training.latest_checkpoint(run)) == 96
    assert not (run / "model.zip").exists()

    def other_system_error() -> None:
        raise SystemError("not an interrupt") from ValueError("cause")

    monkeypatch.setattr(training, "_callbacks", real)
    fail_at(monkeypatch, 96, other_system_error)
    other = load_config(path=config, overrides={"timesteps": 256})
    with pytest.raises(SystemError, match="not an interrupt"):
        training.train(other, tmp_path / "other", progress_bar=False)
    assert list((tmp_path / "other").iterdir()) == []  # nothing saved: removed


def test_torch_threads_above_the_cpu_count_are_capped(tmp_path: Path, monkeypatch) -> None:
    """A run trained with 4 threads trains, resumes and loads on a 2-CPU machine."""
    import torch

    before = torch.get_num_threads()
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    config = load_config(
        path=tiny_config(tmp_path, "ppo", torch_threads=4, checkpoint_freq=0, eval_freq=0),
        overrides={"timesteps": 64},
    )
    assert config.torch_threads == 4
    note = "torch_threads 4 capped to the 2 CPUs of this machine"
    try:
        notes: list[str] = []
        torch.set_num_threads(1)
        result = training.train(config, tmp_path / "runs", progress_bar=False, log=notes.append)
        assert torch.get_num_threads() == 2
        assert notes == [note]
        assert load_config(path=result.run_dir / "config.yaml").torch_threads == 4
        notes.clear()
        torch.set_num_threads(1)
        resumed = training.resume(result.run_dir, 128, progress_bar=False, log=notes.append)
        assert notes == [note] and resumed.timesteps == 128
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


SIZES_TOO_LARGE = [
    (
        "ppo",
        {"hyperparams": {"n_steps": 10**9}},
        "config.hyperparams.n_steps: got 1000000000, allowed: an integer in [1, 2**20]",
    ),
    (
        "ppo",
        {"policy_kwargs": {"hidden": 10**9}},
        "config.policy_kwargs.hidden: got 1000000000, allowed: an integer in [1, 4096]",
    ),
    (
        "ppo",
        {"eval_episodes": 10**12},
        "config.eval_episodes: got 1000000000000, allowed: an integer in [1, 10000]",
    ),
    (  # within its bound, but 2 TB on massive: more than half of any test machine's memory
        "sac",
        {"scenario": "massive", "hyperparams": {"buffer_size": 10**8}},
        "config.hyperparams.buffer_size: got 100000000, allowed: at most ",
    ),
    (
        "ppo",
        {"scenario": "massive", "n_envs": 256, "hyperparams": {"n_steps": 2**20}},
        "config.hyperparams.n_steps: got 1048576, allowed: at most ",
    ),
]


@pytest.mark.parametrize(("algo", "settings", "needle"), SIZES_TOO_LARGE)
def test_sizes_too_large_fail_in_one_line_quickly(
    tmp_path: Path, capsys, algo: str, settings: dict, needle: str
) -> None:
    path = tmp_path / "large.yaml"
    path.write_text(yaml.safe_dump({"algo": algo, **settings}))
    runs = tmp_path / "runs"
    start = time.perf_counter()
    err = _fails(["train", "--config", str(path), "--runs-dir", str(runs)], capsys, needle)
    assert time.perf_counter() - start < 5
    assert not runs.exists()
    if "at most" in needle:
        assert "on this machine (the " in err and " buffer would need " in err, err


def test_resume_starts_from_a_newer_model_zip(tmp_path: Path, monkeypatch) -> None:
    """A finished run whose total (320) is not a checkpoint step (128, 256)."""
    config = load_config(path=tiny_config(tmp_path, "ppo"), overrides={"timesteps": 320})
    run = training.train(config, tmp_path / "runs", progress_bar=False, log=quiet).run_dir
    assert [f.steps for f in training.list_checkpoints(run)] == [256, 128]
    assert training._saved_steps(run / "model.zip") == 320
    loaded: list[str] = []
    real = training._load

    def spy(config, files, venv):
        loaded.append(files.model.relative_to(run).as_posix())
        return real(config, files, venv)

    monkeypatch.setattr(training, "_load", spy)
    notes: list[str] = []
    result = training.resume(run, 448, progress_bar=False, log=notes.append)
    assert loaded == ["model.zip"] and notes == []
    assert [r["timesteps"] for r in result.curve] == [0, 128, 256, 320, 448]

    (run / "model.zip").write_bytes(b"")  # unreadable: tried last, after the checkpoints
    loaded.clear()
    result = training.resume(run, 512, progress_bar=False, log=notes.append)
    assert loaded == ["checkpoints/model_448_steps.zip"] and result.timesteps == 512


def test_a_runs_dir_that_cannot_hold_runs_fails_before_training(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = str(tiny_config(tmp_path, "ppo"))
    for runs in (blocker, blocker / "runs"):
        _fails(["train", "--config", config, "--runs-dir", str(runs)], capsys, "--runs-dir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "ppo_tiny.yaml"]


@pytest.mark.parametrize(
    ("algo", "hyperparams", "n_envs"),
    [
        ("ppo", {"n_steps": 32, "batch_size": 32, "n_epochs": 1}, 2),
        ("td3", {"learning_starts": 8, "batch_size": 8, "buffer_size": 500, "train_freq": 3}, 2),
        ("sac", {"learning_starts": 8, "batch_size": 8, "train_freq": [3, "episode"]}, 1),
    ],
)
def test_the_budget_is_rounded_to_whole_collections_and_said(
    tmp_path: Path, capsys, algo: str, hyperparams: dict, n_envs: int
) -> None:
    path = tiny_config(tmp_path, algo, hyperparams=hyperparams, n_envs=n_envs, checkpoint_freq=0)
    config = load_config(path=path, overrides={"timesteps": 100})
    assert config.effective_timesteps() > config.timesteps
    runs = tmp_path / "runs"
    argv = ["train", "--config", str(path), "--timesteps", "100", "--runs-dir", str(runs)]
    assert main([*argv, "--no-progress-bar"]) == 0
    out, err = capsys.readouterr()
    assert config.rounding_note() in err.splitlines()
    assert config.rounding_note().startswith("timesteps 100 rounded up to")
    assert f"trained {config.effective_timesteps()} steps" in out
    assert training.read_curve(only_run(runs))[-1]["timesteps"] == config.effective_timesteps()


BAD_VALUES = [
    # the values of the hardening issue
    ("ppo", {"hyperparams": {"n_steps": -5}}, "config.hyperparams.n_steps: got -5, allowed:"),
    ("ppo", {"hyperparams": {"batch_size": 0}}, "config.hyperparams.batch_size: got 0, allowed:"),
    ("ppo", {"hyperparams": {"clip_range": "wide"}}, "config.hyperparams.clip_range: got 'wide'"),
    ("ppo", {"policy_kwargs": {"hidden": -4}}, "config.policy_kwargs.hidden: got -4, allowed:"),
    (
        "ppo",
        {"hyperparams": {"gamma": 5.0}},
        "config.hyperparams.gamma: got 5.0, allowed: a number in [0, 1]",
    ),
    ("ppo", {"torch_threads": 100000}, "config.torch_threads: got 100000, allowed:"),
    # one of each other rule
    ("ppo", {"hyperparams": {"batch_size": 1}}, "batch_size: got 1, allowed: an integer >= 2"),
    ("ppo", {"hyperparams": {"learning_rate": "fast"}}, "learning_rate: got 'fast'"),
    ("ppo", {"hyperparams": {"learning_rate": "linear:-1"}}, "learning_rate: got 'linear:-1'"),
    ("ppo", {"hyperparams": {"n_epochs": 0}}, "n_epochs: got 0"),
    ("ppo", {"hyperparams": {"gae_lambda": 1.5}}, "gae_lambda: got 1.5"),
    ("ppo", {"hyperparams": {"clip_range_vf": 0}}, "clip_range_vf: got 0"),
    ("ppo", {"hyperparams": {"ent_coef": -0.1}}, "ent_coef: got -0.1"),
    ("ppo", {"hyperparams": {"vf_coef": "half"}}, "vf_coef: got 'half'"),
    ("ppo", {"hyperparams": {"max_grad_norm": 0}}, "max_grad_norm: got 0"),
    ("ppo", {"hyperparams": {"target_kl": -1}}, "target_kl: got -1"),
    ("ppo", {"hyperparams": {"normalize_advantage": "yes"}}, "normalize_advantage: got 'yes'"),
    ("ppo", {"hyperparams": {"sde_sample_freq": -2}}, "sde_sample_freq: got -2"),
    ("ppo", {"hyperparams": {"stats_window_size": 0}}, "stats_window_size: got 0"),
    ("ppo", {"hyperparams": {"use_sde": True}}, "use_sde: got True, allowed: false with"),
    ("ppo", {"hyperparams": {"rollout_buffer_class": "x"}}, "unknown ppo argument(s)"),
    ("a2c", {"hyperparams": {"rms_prop_eps": 0}}, "rms_prop_eps: got 0"),
    ("a2c", {"hyperparams": {"use_rms_prop": 1}}, "use_rms_prop: got 1"),
    ("sac", {"hyperparams": {"ent_coef": "auto_0"}}, "ent_coef: got 'auto_0'"),
    ("sac", {"hyperparams": {"tau": 2}}, "tau: got 2"),
    ("sac", {"hyperparams": {"buffer_size": 0}}, "buffer_size: got 0"),
    ("sac", {"hyperparams": {"learning_starts": -1}}, "learning_starts: got -1"),
    ("sac", {"hyperparams": {"train_freq": [4, "hour"]}}, "train_freq: got [4, 'hour']"),
    ("sac", {"hyperparams": {"train_freq": [4, "episode"]}}, "with n_envs 1 only"),
    ("sac", {"hyperparams": {"gradient_steps": 0}}, "gradient_steps: got 0"),
    ("sac", {"hyperparams": {"target_entropy": "high"}}, "target_entropy: got 'high'"),
    ("sac", {"hyperparams": {"optimize_memory_usage": True}}, "optimize_memory_usage: got True"),
    ("td3", {"hyperparams": {"policy_delay": 0}}, "policy_delay: got 0"),
    ("td3", {"hyperparams": {"target_policy_noise": -1}}, "target_policy_noise: got -1"),
    ("td3", {"hyperparams": {"target_noise_clip": -1}}, "target_noise_clip: got -1"),
    ("ppo", {"policy_kwargs": {"activation_fn": "swish"}}, "activation_fn: got 'swish'"),
    ("ppo", {"policy_kwargs": {"rounds": -1}}, "rounds: got -1"),
    ("ppo", {"policy_kwargs": {"ortho_init": "no"}}, "ortho_init: got 'no'"),
    ("ppo", {"policy_kwargs": {"log_std_init": float("nan")}}, "log_std_init: got nan"),
    ("ppo", {"policy_kwargs": {"optimizer_class": "Adam"}}, "unknown PerUserPolicy argument"),
    ("ppo", {"policy_kwargs": {"num_users": 3}}, "unknown PerUserPolicy argument(s) num_users"),
    (
        "ppo",
        {"policy": "MlpPolicy", "policy_kwargs": {"net_arch": [8, 0]}},
        "config.policy_kwargs.net_arch: got [8, 0]",
    ),
    (
        "ppo",
        {"policy": "MlpPolicy", "policy_kwargs": {"squash_output": True}},
        "squash_output: got True",
    ),
    (
        "td3",
        {"policy": "MlpPolicy", "policy_kwargs": {"net_arch": {"pi": [8]}}},
        "net_arch: got {'pi': [8]}",
    ),
    ("td3", {"policy_kwargs": {"critic_rounds": -1}}, "critic_rounds: got -1"),
    ("td3", {"policy_kwargs": {"n_critics": 0}}, "n_critics: got 0"),
    ("sac", {"policy_kwargs": {"clip_mean": -1}}, "clip_mean: got -1"),
    ("ppo", {"seed": 2**40}, "config.seed: got 1099511627776"),
    ("ppo", {"hyperparams": [1, 2]}, "config.hyperparams: got [1, 2], allowed: a mapping"),
]


@pytest.mark.parametrize(("algo", "settings", "needle"), BAD_VALUES)
def test_each_bad_value_fails_in_one_line_before_any_folder(
    tmp_path: Path, capsys, algo: str, settings: dict, needle: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"algo": algo, **settings}))
    runs = tmp_path / "runs"
    _fails(["train", "--config", str(path), "--runs-dir", str(runs)], capsys, needle)
    assert not runs.exists()
