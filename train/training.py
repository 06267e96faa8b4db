"""Train a Stable-Baselines3 policy on NomaSplit: the logic behind ``noma-split train``.

Read it top to bottom: :func:`train` seeds everything, builds the vectorized envs
(:func:`make_vec_env`), the model and the callbacks, learns, and writes the run folder
``runs/<scenario>__<algo>__<seed>__<time>/``:

================================  ====================================================
``config.yaml``                   the resolved :class:`~train.config.TrainConfig`
``model.zip``                     the final model (``agents.make("sb3", path=run)``)
``vecnormalize.pkl``              observation normalization statistics
``learning_curve.csv`` / ``.png`` evaluation cost per slot against training steps
``checkpoints/``                  ``model_<steps>_steps.zip`` + normalization + replay
``eval/evaluations.npz``          SB3's ``EvalCallback`` log (episode returns)
``tb/``                           TensorBoard logs (``tensorboard --logdir runs``)
================================  ====================================================

**The environment as the policy sees it.** ``NomaSplitEnv`` -> the action view
(:class:`~noma_split_env.wrappers.MultiDiscreteAction` or
:class:`~noma_split_env.wrappers.FlatBoxAction`) -> :class:`TrainingEnv` (keeps only
the cost in ``info``: SB3's ``DummyVecEnv`` deep-copies every ``info`` each step and
the env's full breakdown made that a fifth of the training time; optional
``log-cost`` reward) -> ``Monitor`` -> ``DummyVecEnv`` -> ``VecNormalize``.
Slots do not depend on the decisions (the exogenous processes of SPEC section 6), so
each slot is a contextual bandit: ``gamma = 0`` in the default configs, and the
``log-cost`` reward ``-ln C`` has the same best action on every slot as ``-C`` (a
monotone map of a reward that is a function of the slot and the action) while taming
the heavy tail of bad random actions (a stalled upload costs up to 100x all-local).

**Seeds.** ``set_random_seed(seed)`` (Python, NumPy, torch), deterministic torch
algorithms, ``torch_threads`` threads, the algorithm's own seeding (policy, action
space). The training envs get seeds ``base + i`` and the evaluation env the seed
``eval``, both drawn from ``SeedSequence([seed, ...])`` (large integers), so the
small seeds of comparisons (0, 1, 2, ...) never meet a training episode. Same config
and seed, same model on CPU. A resumed run (``--resume``) restarts its episodes
from fresh seeds; it is reproducible itself but not bit-identical to an uninterrupted
run.

**Evaluation.** Every ``eval_freq`` steps, and at the first and the last step, the
deterministic policy runs ``eval_episodes`` episodes on the evaluation env,
reseeded each time so that every point of the learning curve scores the same slots;
the curve reports the cost per slot (``-return / length``) with its standard
deviation over episodes.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from noma_split_env import NomaSplitEnv
from noma_split_env.wrappers import FlatBoxAction, MultiDiscreteAction
from train.config import TrainConfig, algorithm_class, load_config

__all__ = [
    "CURVE_FIELDS",
    "TrainResult",
    "TrainingEnv",
    "latest_checkpoint",
    "make_vec_env",
    "read_curve",
    "resume",
    "run_name",
    "seeds_for",
    "train",
    "view_wrapper",
]

CURVE_FIELDS = ("timesteps", "cost_mean", "cost_std", "episodes")
"""Columns of ``learning_curve.csv``: steps, mean and std over episodes of the
per-slot evaluation cost, and the number of episodes."""

_CHECKPOINT = re.compile(r"^model_(\d+)_steps\.zip$")


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    run_dir: Path
    """The run folder."""
    model_path: Path
    """``model.zip`` (or, if interrupted, the last checkpoint)."""
    timesteps: int
    """Steps trained in total."""
    interrupted: bool
    """True if stopped by Ctrl-C; ``model_path`` is then the saved checkpoint."""
    wall_time_s: float
    """Duration of this call [s]."""
    curve: tuple[dict[str, float], ...]
    """The learning curve (rows with :data:`CURVE_FIELDS`)."""


# --------------------------------------------------------------------------- envs
class TrainingEnv(gym.Wrapper):
    """The training view of the env: a lean ``info`` and the configured reward.

    ``info`` keeps only ``cost`` (the slot cost ``C``); the reward is ``-C``
    (``reward="cost"``) or ``-ln C`` (``reward="log-cost"``; ``C > 0`` always, since
    energy is positive).
    """

    def __init__(self, env: gym.Env, reward: str = "cost") -> None:
        super().__init__(env)
        if reward not in ("cost", "log-cost"):
            raise ValueError(f"TrainingEnv.reward: got {reward!r}, allowed: cost or log-cost")
        self.log_cost = reward == "log-cost"

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        cost = float(info["cost"])
        reward = -float(np.log(cost)) if self.log_cost else float(reward)
        return obs, reward, terminated, truncated, {"cost": cost}


def view_wrapper(config: TrainConfig) -> Callable[[gym.Env], gym.Env]:
    """The action view of ``config``: ``env -> MultiDiscreteAction | FlatBoxAction``."""
    if config.action_view == "multidiscrete":
        return lambda env: MultiDiscreteAction(env, power_levels=config.power_levels)
    return FlatBoxAction


def _env_factory(config: TrainConfig, reward: str) -> Callable[[], gym.Env]:
    from stable_baselines3.common.monitor import Monitor

    scenario = config.make_scenario()
    wrap = view_wrapper(config)

    def make() -> gym.Env:
        return Monitor(TrainingEnv(wrap(NomaSplitEnv(scenario)), reward=reward))

    return make


def make_vec_env(config: TrainConfig, *, evaluation: bool = False) -> Any:
    """``DummyVecEnv`` of ``n_envs`` training envs (1 for evaluation), with
    ``VecNormalize`` when the config normalizes observations or rewards.

    The evaluation env always scores the true cost and never updates the statistics
    (they are copied from the training env before each evaluation).
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    n = 1 if evaluation else config.n_envs
    reward = "cost" if evaluation else config.reward
    venv = DummyVecEnv([_env_factory(config, reward) for _ in range(n)])
    if config.normalize_obs or config.normalize_reward:
        venv = VecNormalize(
            venv,
            training=not evaluation,
            norm_obs=config.normalize_obs,
            norm_reward=config.normalize_reward and not evaluation,
            clip_obs=config.clip_obs,
            gamma=float(config.hyperparams.get("gamma", 0.99)),
        )
    return venv


def seeds_for(seed: int, restart: int = 0) -> tuple[int, int]:
    """``(training base seed, evaluation seed)`` derived from ``seed``.

    ``restart`` > 0 gives fresh training seeds for a resumed run (the step count).
    """
    train_base, eval_seed = np.random.SeedSequence([seed, restart]).generate_state(2)
    return int(train_base) // 2, int(eval_seed) // 2  # room for base + i below 2**32


def _seed_everything(config: TrainConfig) -> None:
    import torch
    from stable_baselines3.common.utils import set_random_seed

    torch.set_num_threads(config.torch_threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # argument validation of torch.distributions costs ~15% of a MultiDiscrete rollout
    torch.distributions.Distribution.set_default_validate_args(False)
    set_random_seed(config.seed)


# --------------------------------------------------------------------------- model
def _policy_kwargs(config: TrainConfig) -> dict[str, Any]:
    import torch

    kwargs = dict(config.policy_kwargs)
    act = kwargs.get("activation_fn")
    if isinstance(act, str):
        names = {
            "tanh": torch.nn.Tanh,
            "relu": torch.nn.ReLU,
            "elu": torch.nn.ELU,
            "leaky_relu": torch.nn.LeakyReLU,
            "gelu": torch.nn.GELU,
            "silu": torch.nn.SiLU,
        }
        kwargs["activation_fn"] = names[act]
    if config.policy == "PerUserPolicy":
        kwargs.setdefault("num_users", config.make_scenario().num_users)
    return kwargs


def _policy(config: TrainConfig) -> Any:
    if config.policy == "PerUserPolicy":
        from train.policies import PerUserPolicy

        return PerUserPolicy
    return config.policy


def _build_model(config: TrainConfig, venv: Any, run_dir: Path) -> Any:
    cls = algorithm_class(config.algo)
    hyper = dict(config.hyperparams)
    if "learning_rate" in hyper:
        hyper["learning_rate"] = config.learning_rate()
    if config.action_noise_sigma > 0:
        from stable_baselines3.common.noise import NormalActionNoise

        dim = venv.action_space.shape[0]
        hyper["action_noise"] = NormalActionNoise(
            np.zeros(dim), config.action_noise_sigma * np.ones(dim)
        )
    return cls(
        _policy(config),
        venv,
        seed=config.seed,
        device="cpu",
        verbose=0,
        tensorboard_log=str(run_dir / "tb"),
        policy_kwargs=_policy_kwargs(config),
        **hyper,
    )


# --------------------------------------------------------------------------- callbacks
def _callbacks(
    config: TrainConfig, run_dir: Path, eval_seed: int, previous: Sequence[dict[str, float]]
) -> tuple[list[Any], Any]:
    from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback

    class SeededEvalCallback(EvalCallback):
        """EvalCallback on the same episodes every time, also at the first and the last
        step; logs the evaluation cost per slot (``eval/cost``)."""

        def _on_training_start(self) -> None:
            self._evaluate_if_new()

        def _on_training_end(self) -> None:
            self._evaluate_if_new()

        def _evaluate_if_new(self) -> None:
            done = self.evaluations_timesteps
            if self.eval_freq > 0 and (not done or done[-1] < self.num_timesteps):
                self._evaluate()

        def _on_step(self) -> bool:
            if self.eval_freq > 0 and self.n_calls % self.eval_freq == 0:
                return self._evaluate()
            return True

        def _evaluate(self) -> bool:
            self.eval_env.seed(eval_seed)
            saved, self.n_calls = self.n_calls, 0
            try:
                go_on = super()._on_step()
            finally:
                self.n_calls = saved
            rewards = np.asarray(self.evaluations_results[-1], dtype=float)
            lengths = np.asarray(self.evaluations_length[-1], dtype=float)
            self.logger.record("eval/cost", float(-rewards.sum() / lengths.sum()))
            return go_on

    n = config.n_envs
    callbacks: list[Any] = []
    if config.checkpoint_freq > 0:
        callbacks.append(
            CheckpointCallback(
                save_freq=max(config.checkpoint_freq // n, 1),
                save_path=str(run_dir / "checkpoints"),
                name_prefix="model",
                save_replay_buffer=True,
                save_vecnormalize=True,
            )
        )
    eval_env = make_vec_env(config, evaluation=True)
    evaluation = SeededEvalCallback(
        eval_env,
        n_eval_episodes=config.eval_episodes,
        eval_freq=max(config.eval_freq // n, 1) if config.eval_freq > 0 else 0,
        log_path=str(run_dir / "eval"),
        deterministic=True,
        verbose=0,
        warn=False,
    )
    for row in previous:  # a resumed run continues its curve
        evaluation.evaluations_timesteps.append(int(row["timesteps"]))
        evaluation.evaluations_results.append(list(row["_returns"]))
        evaluation.evaluations_length.append(list(row["_lengths"]))
    callbacks.append(evaluation)
    return callbacks, evaluation


def _curve(evaluation: Any) -> tuple[dict[str, float], ...]:
    rows = []
    for t, returns, lengths in zip(
        evaluation.evaluations_timesteps,
        evaluation.evaluations_results,
        evaluation.evaluations_length,
        strict=True,
    ):
        per_slot = -np.asarray(returns, dtype=float) / np.asarray(lengths, dtype=float)
        rows.append(
            {
                "timesteps": int(t),
                "cost_mean": float(per_slot.mean()),
                "cost_std": float(per_slot.std()),
                "episodes": len(per_slot),
            }
        )
    return tuple(rows)


def _write_curve(run_dir: Path, curve: Sequence[dict[str, float]], label: str) -> None:
    from train.plots import plot_learning_curves

    with (run_dir / "learning_curve.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CURVE_FIELDS)
        writer.writeheader()
        writer.writerows(curve)
    plot_learning_curves({label: curve}, run_dir / "learning_curve.png")


def read_curve(run_dir: str | PathLike[str]) -> list[dict[str, float]]:
    """The learning curve of a run folder (empty if it has none)."""
    path = Path(run_dir) / "learning_curve.csv"
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return [
            {
                "timesteps": int(r["timesteps"]),
                "cost_mean": float(r["cost_mean"]),
                "cost_std": float(r["cost_std"]),
                "episodes": int(r["episodes"]),
            }
            for r in csv.DictReader(f)
        ]


def _previous_evaluations(run_dir: Path, upto: int) -> list[dict[str, Any]]:
    path = run_dir / "eval" / "evaluations.npz"
    if not path.is_file():
        return []
    data = np.load(path)
    rows = []
    for t, returns, lengths in zip(
        data["timesteps"], data["results"], data["ep_lengths"], strict=True
    ):
        if int(t) <= upto:
            rows.append({"timesteps": int(t), "_returns": returns, "_lengths": lengths})
    return rows


# --------------------------------------------------------------------------- run folder
def run_name(config: TrainConfig, when: datetime | None = None) -> str:
    """``<scenario>__<algo>__<seed>__<YYYYmmdd-HHMMSS>``."""
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return f"{config.scenario}__{config.algo}__{config.seed}__{stamp}"


def _new_run_dir(root: Path, config: TrainConfig) -> Path:
    base = root / run_name(config)
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    path.mkdir(parents=True)
    return path


def latest_checkpoint(run_dir: str | PathLike[str]) -> Path | None:
    """The checkpoint with the most steps in ``run_dir/checkpoints``, or None."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _CHECKPOINT.match(p.name))]
    return max(found)[1] if found else None


def _save_checkpoint(model: Any, run_dir: Path) -> Path:
    folder = run_dir / "checkpoints"
    folder.mkdir(exist_ok=True)
    steps = model.num_timesteps
    path = folder / f"model_{steps}_steps.zip"
    model.save(path)
    if model.get_vec_normalize_env() is not None:
        model.get_vec_normalize_env().save(str(folder / f"model_vecnormalize_{steps}_steps.pkl"))
    if getattr(model, "replay_buffer", None) is not None:
        model.save_replay_buffer(folder / f"model_replay_buffer_{steps}_steps.pkl")
    return path


# --------------------------------------------------------------------------- entry points
def train(
    config: TrainConfig,
    runs_dir: str | PathLike[str] = "runs",
    *,
    progress_bar: bool = True,
    run_dir: str | PathLike[str] | None = None,
) -> TrainResult:
    """Train ``config`` from scratch into a new run folder under ``runs_dir``.

    Args:
        config: The resolved configuration (:func:`train.config.load_config`).
        runs_dir: Parent of the run folder.
        progress_bar: Show SB3's progress bar (tqdm + rich).
        run_dir: Use this exact folder instead of a new ``runs_dir/<name>`` (it may
            exist but must hold no ``config.yaml``).

    A Ctrl-C (``KeyboardInterrupt``) saves a checkpoint and the learning curve so far
    and returns with ``interrupted=True``; continue with :func:`resume`.
    """
    if run_dir is None:
        path = _new_run_dir(Path(runs_dir), config)
    else:
        path = Path(run_dir)
        if (path / "config.yaml").exists():
            raise ValueError(
                f"train.run_dir: {str(path)!r} already holds a run; allowed: a new folder "
                "(or use resume)"
            )
        path.mkdir(parents=True, exist_ok=True)
    config.to_yaml(path / "config.yaml")
    _seed_everything(config)
    venv = make_vec_env(config)
    model = _build_model(config, venv, path)
    train_seed, eval_seed = seeds_for(config.seed)
    venv.seed(train_seed)  # after the model, which seeds the envs with `seed` itself
    return _learn(model, config, path, eval_seed, config.timesteps, progress_bar, [])


def resume(
    run_dir: str | PathLike[str],
    timesteps: int | None = None,
    *,
    progress_bar: bool = True,
) -> TrainResult:
    """Continue the run in ``run_dir`` from its latest checkpoint (or ``model.zip``).

    Trains until ``timesteps`` in total (default: the run's configured total). The
    normalization statistics and, for SAC/TD3, the replay buffer are restored.
    """
    path = Path(run_dir)
    if not (path / "config.yaml").is_file():
        raise FileNotFoundError(
            f"--resume: {str(path)!r} is not a run folder (no config.yaml); expected a "
            "folder written by `noma-split train`"
        )
    config = load_config(path=path / "config.yaml")
    if timesteps is not None:
        config = config.replace(timesteps=timesteps)
    checkpoint = latest_checkpoint(path)
    if checkpoint is None and (path / "model.zip").is_file():
        checkpoint = path / "model.zip"
    if checkpoint is None:
        raise FileNotFoundError(
            f"--resume: nothing to resume in {str(path)!r}: no checkpoints/model_*_steps.zip "
            "and no model.zip"
        )
    _seed_everything(config)
    venv = make_vec_env(config)
    stem = checkpoint.name.removesuffix(".zip")
    steps_tag = stem.removeprefix("model_") if checkpoint.parent.name == "checkpoints" else ""
    norm = (
        checkpoint.parent / f"model_vecnormalize_{steps_tag}.pkl"
        if steps_tag
        else path / "vecnormalize.pkl"
    )
    if hasattr(venv, "obs_rms") and norm.is_file():
        from stable_baselines3.common.vec_env import VecNormalize

        venv = VecNormalize.load(str(norm), venv.venv)
        venv.training = True
    model = algorithm_class(config.algo).load(
        checkpoint, env=venv, device="cpu", tensorboard_log=str(path / "tb")
    )
    buffer = checkpoint.parent / f"model_replay_buffer_{steps_tag}.pkl"
    if steps_tag and hasattr(model, "replay_buffer") and buffer.is_file():
        model.load_replay_buffer(buffer)
    done = int(model.num_timesteps)
    remaining = config.timesteps - done
    if remaining <= 0:
        raise ValueError(
            f"--resume: {str(path)!r} has already trained {done} of {config.timesteps} steps; "
            "pass a larger --timesteps to train further"
        )
    config.to_yaml(path / "config.yaml")
    eval_seed = seeds_for(config.seed)[1]
    venv.seed(seeds_for(config.seed, restart=done)[0])
    previous = _previous_evaluations(path, done)
    return _learn(model, config, path, eval_seed, remaining, progress_bar, previous)


def _learn(
    model: Any,
    config: TrainConfig,
    run_dir: Path,
    eval_seed: int,
    steps: int,
    progress_bar: bool,
    previous: Sequence[dict[str, Any]],
) -> TrainResult:
    callbacks, evaluation = _callbacks(config, run_dir, eval_seed, previous)
    start = time.perf_counter()
    interrupted = False
    try:
        model.learn(
            steps,
            callback=callbacks,
            progress_bar=progress_bar,
            tb_log_name=config.algo,
            reset_num_timesteps=not previous,
        )
    except KeyboardInterrupt:
        interrupted = True
    curve = _curve(evaluation)
    _write_curve(run_dir, curve, config.algo)
    if interrupted:
        model_path = _save_checkpoint(model, run_dir)
    else:
        model_path = run_dir / "model.zip"
        model.save(model_path)
        if model.get_vec_normalize_env() is not None:
            model.get_vec_normalize_env().save(str(run_dir / "vecnormalize.pkl"))
    model.get_env().close()
    return TrainResult(
        run_dir=run_dir,
        model_path=model_path,
        timesteps=int(model.num_timesteps),
        interrupted=interrupted,
        wall_time_s=time.perf_counter() - start,
        curve=curve,
    )
