"""``noma-split train``: every algorithm trains and saves, seeds reproduce, Ctrl-C
resumes, bad input fails in one line. Tiny budgets on the ``tiny`` scenario."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from train import training
from train.cli import main
from train.config import ALGORITHMS, CONFIG_DIR, load_config

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
    curve = training.read_curve(run)
    assert [r["timesteps"] for r in curve] == [0, 128, 256]
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


def _parameters(path: Path) -> list[np.ndarray]:
    from stable_baselines3 import PPO

    model = PPO.load(path, device="cpu")
    return [p.detach().numpy().copy() for p in model.policy.parameters()]


def test_ctrl_c_saves_a_checkpoint_and_resumes(tmp_path: Path, monkeypatch, capsys) -> None:
    from stable_baselines3.common.callbacks import BaseCallback

    class CtrlC(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps >= 160:
                raise KeyboardInterrupt
            return True

    real = training._callbacks

    def with_ctrl_c(*args, **kwargs):
        callbacks, evaluation = real(*args, **kwargs)
        return [*callbacks, CtrlC()], evaluation

    runs = tmp_path / "runs"
    argv = ["train", "--timesteps", "256", "--config", str(tiny_config(tmp_path, "ppo"))]
    argv += ["--runs-dir", str(runs), "--no-progress-bar"]
    monkeypatch.setattr(training, "_callbacks", with_ctrl_c)
    assert main(argv) == 130
    run = only_run(runs)
    err = capsys.readouterr().err
    assert f"resume with: noma-split train --resume {run}" in err
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
    assert "--timesteps: must be >= 1, got -5" in capsys.readouterr().err

    bad = tmp_path / "bad.yaml"
    bad.write_text("algo: ppo\nhyperparams: {learning_rate: [\n")
    _fails(["train", "--config", str(bad)], capsys, "not valid YAML")
    bad.write_text("algo: ppo\nbatchsize: 3\n")
    _fails(["train", "--config", str(bad)], capsys, "unknown setting(s) batchsize")
    bad.write_text("algo: ppo\nhyperparams: {n_step: 3}\n")
    _fails(["train", "--config", str(bad)], capsys, "unknown ppo argument(s) n_step", "n_steps")
    bad.write_text("algo: ppo\npolicy_kwargs: {net_arch: [8]}\n")
    _fails(["train", "--config", str(bad)], capsys, "unknown PerUserPolicy argument(s) net_arch")
    bad.write_text("algo: sac\npolicy: PerUserPolicy\n")
    _fails(["train", "--config", str(bad)], capsys, "MlpPolicy for sac")
    bad.write_text("algo: sac\naction_view: multidiscrete\n")
    _fails(["train", "--config", str(bad)], capsys, "action_view", "box for sac")
    _fails(["train", "--algo", "ppo", "--config", str(bad)], capsys, "is for algo 'sac'")
    _fails(["train", "--config", str(tmp_path / "missing.yaml")], capsys, "does not exist")
    _fails(["train", "--resume", str(tmp_path)], capsys, "is not a run folder")


@pytest.mark.slow
def test_same_command_same_model_across_processes(tmp_path: Path) -> None:
    """Two fresh processes, the default PPO config, 20k steps: identical models."""
    script = Path(sys.executable).with_name("noma-split")
    for name in ("a", "b"):
        argv = [str(script), "train", "--timesteps", "20000", "--runs-dir", str(tmp_path / name)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode == 0, done.stderr
    first, second = only_run(tmp_path / "a"), only_run(tmp_path / "b")
    assert training.read_curve(first) == training.read_curve(second)
    for a, b in zip(
        _parameters(first / "model.zip"), _parameters(second / "model.zip"), strict=True
    ):
        np.testing.assert_array_equal(a, b)
