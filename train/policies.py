"""Per-user policies for PPO, A2C, SAC and TD3: one small network shared by the users.

NomaSplit's observation is ``K`` rows of per-user features (flattened, see
:mod:`noma_split_env.observation`) and both action views lay the action out in
blocks of ``K`` entries, one per user (:mod:`noma_split_env.wrappers`). A plain MLP
must learn the same split / subchannel / power rule ``K`` times over, once per input
and output position. :class:`PerUserPolicy` shares it instead (a Deep Sets encoder,
Zaheer et al., "Deep Sets", NeurIPS 2017, with mean-pooled context as in
message-passing networks):

* actor: every user's features ``x_k [F]`` -> ``h_k = act(W x_k) [H]``, then
  ``rounds`` times ``h_k <- act(U [h_k, mean_j h_j])`` (each user sees the others
  through the mean, so the subchannels and the shared BS power can be coordinated);
  a shared linear head maps ``h_k`` to user ``k``'s logits (MultiDiscrete view:
  ``L_max+1`` split, ``N`` + ``N`` subchannel and 2 x ``power_levels`` power logits)
  or means (Box view: 5 or 6 values), re-ordered into the view's block-major layout;
* critic: the same kind of encoder with its own weights (one round), mean-pooled
  over users, then a linear value.

The policy is permutation-equivariant (relabelling the users relabels the actions)
and its size does not grow with ``K``. On ``default`` it reaches a lower cost than
an MLP of 256 x 256 with the same budget (see ``benchmarks/bench_rl.py``).

Use it with ``policy: PerUserPolicy`` in a PPO or A2C config; ``policy_kwargs`` takes
``hidden`` (H), ``rounds``, ``mixer`` (``mean`` or ``attention``), ``heads`` and
``activation_fn``; ``num_users`` is filled in from the scenario by :mod:`train.training`.

SAC and TD3 (Box view) get the same sharing with ``policy: PerUserPolicy`` in their
configs (:func:`per_user_policy`): :class:`PerUserTD3Policy` and
:class:`PerUserSACPolicy`. Their actor is the encoder above with a shared head per
user (TD3: the deterministic action through ``tanh``; SAC: the mean and log-std of
its squashed Gaussian); each critic encodes every user's features together with that
user's own action entries (width ``critic_hidden``, by default ``hidden``), mixes
them ``critic_rounds`` times and mean-pools them into ``Q(s, a)``, which is then
invariant to relabelling the users.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import MultiCategoricalDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.td3.policies import TD3Policy
from torch import nn
from torch.distributions import Categorical

__all__ = [
    "MIXERS",
    "NumpyActor",
    "PerUserPolicy",
    "PerUserSACPolicy",
    "PerUserTD3Policy",
    "per_user_policy",
]

MIXERS = ("mean", "attention")
"""How users see each other in the actor: mean-pooled context or self-attention."""


def _check_per_user(
    name: str,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    num_users: int,
    hidden: int,
    mixer: str,
    heads: int,
) -> None:
    """The checks every per-user policy makes, each a one-line error naming ``name``."""
    if mixer not in MIXERS:
        raise ValueError(f"{name}.mixer: got {mixer!r}, allowed: {' or '.join(MIXERS)}")
    if mixer == "attention" and (heads < 1 or hidden % heads):
        raise ValueError(f"{name}.heads: got {heads!r}, allowed: a divisor of hidden ({hidden})")
    features = int(np.prod(observation_space.shape))  # type: ignore[arg-type]
    size = int(np.prod(action_space.shape))  # type: ignore[arg-type]
    if num_users < 1 or features % num_users or size % num_users:
        raise ValueError(
            f"{name}.num_users: got {num_users}, allowed: a divisor of the observation "
            f"size {features} and of the action size {size}"
        )


class _AttentionRound(nn.Module):
    """One pre-norm transformer block over the users (no positional encoding, so it
    stays permutation-equivariant): ``h <- h + MHA(LN h)``, ``h <- h + FFN(LN h)``."""

    def __init__(self, hidden: int, heads: int, act: type[nn.Module]) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.attention = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.ffn = nn.Sequential(
            nn.Linear(hidden, 2 * hidden), act(), nn.Linear(2 * hidden, hidden)
        )

    def forward(self, h: th.Tensor) -> th.Tensor:
        z = self.norm1(h)
        h = h + self.attention(z, z, z, need_weights=False)[0]
        return h + self.ffn(self.norm2(h))


class _MeanRound(nn.Module):
    """``h_k <- act(U [h_k, mean_j h_j])``."""

    def __init__(self, hidden: int, act: type[nn.Module]) -> None:
        super().__init__()
        self.layer = nn.Sequential(nn.Linear(2 * hidden, hidden), act())

    def forward(self, h: th.Tensor) -> th.Tensor:
        context = h.mean(dim=1, keepdim=True).expand_as(h)
        return self.layer(th.cat((h, context), dim=-1))


class _UserEncoder(nn.Module):
    """``[B, K F] -> [B, K, H]``: shared embedding, then ``rounds`` of mixing."""

    def __init__(
        self,
        num_users: int,
        features: int,
        hidden: int,
        rounds: int,
        act: type[nn.Module],
        mixer: str = "mean",
        heads: int = 4,
    ) -> None:
        super().__init__()
        self.num_users, self.features = num_users, features
        self.embed = nn.Sequential(nn.Linear(features, hidden), act())
        self.mix = nn.ModuleList(
            _AttentionRound(hidden, heads, act) if mixer == "attention" else _MeanRound(hidden, act)
            for _ in range(rounds)
        )

    def forward(self, x: th.Tensor) -> th.Tensor:
        h = self.embed(x.view(x.shape[0], self.num_users, self.features))
        for layer in self.mix:
            h = layer(h)
        return h


class _Extractor(nn.Module):
    """SB3's ``mlp_extractor``: actor latent ``[B, K H]``, critic latent ``[B, H]``."""

    def __init__(
        self,
        num_users: int,
        features: int,
        hidden: int,
        rounds: int,
        act: type[nn.Module],
        mixer: str,
        heads: int,
    ) -> None:
        super().__init__()
        self.actor = _UserEncoder(num_users, features, hidden, rounds, act, mixer, heads)
        self.critic = _UserEncoder(num_users, features, hidden, 1, act)
        self.latent_dim_pi = num_users * hidden
        self.latent_dim_vf = hidden

    def forward_actor(self, x: th.Tensor) -> th.Tensor:
        return self.actor(x).flatten(1)

    def forward_critic(self, x: th.Tensor) -> th.Tensor:
        return self.critic(x).mean(dim=1)

    def forward(self, x: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        return self.forward_actor(x), self.forward_critic(x)


class _UserHead(nn.Module):
    """Shared linear head ``[B, K H] -> [B, sum_b K s_b]`` in block-major order."""

    def __init__(self, num_users: int, hidden: int, blocks: list[int]) -> None:
        super().__init__()
        self.num_users, self.hidden, self.blocks = num_users, hidden, blocks
        self.linear = nn.Linear(hidden, sum(blocks))

    def forward(self, latent: th.Tensor) -> th.Tensor:
        out = self.linear(latent.view(latent.shape[0], self.num_users, self.hidden))
        parts = th.split(out, self.blocks, dim=-1)  # block b: [B, K, s_b]
        return th.cat([p.flatten(1) for p in parts], dim=1)


class _BlockCategorical(MultiCategoricalDistribution):
    """SB3's MultiCategorical, computed as one batched ``Categorical`` per block.

    The MultiDiscrete view is ``blocks`` groups of ``K`` categoricals of equal size
    (block-major), so each group is one ``Categorical`` over ``[B, K, s_b]`` instead of
    ``K`` separate ones: the same distribution with about ``K`` times fewer torch
    calls (the categoricals were a third of a rollout's time).
    """

    def __init__(self, action_dims: list[int], num_users: int, blocks: list[int]) -> None:
        super().__init__(action_dims)
        self.num_users, self.blocks = num_users, blocks
        self.parts: list[Categorical] = []

    def proba_distribution(self, action_logits: th.Tensor) -> _BlockCategorical:
        k = self.num_users
        chunks = th.split(action_logits, [k * s for s in self.blocks], dim=1)
        self.parts = [
            Categorical(logits=c.view(-1, k, s)) for c, s in zip(chunks, self.blocks, strict=True)
        ]
        return self

    def log_prob(self, actions: th.Tensor) -> th.Tensor:
        per_block = actions.view(actions.shape[0], len(self.blocks), self.num_users)
        return sum(d.log_prob(per_block[:, b]).sum(dim=1) for b, d in enumerate(self.parts))  # type: ignore[return-value]

    def entry_log_prob(self, actions: th.Tensor) -> th.Tensor:
        """``[B, D]`` log-probability of every entry of ``actions`` (block-major)."""
        per_block = actions.view(actions.shape[0], len(self.blocks), self.num_users)
        return th.cat([d.log_prob(per_block[:, b]) for b, d in enumerate(self.parts)], dim=1)

    def entropy(self) -> th.Tensor:
        return sum(d.entropy().sum(dim=1) for d in self.parts)  # type: ignore[return-value]

    def sample(self) -> th.Tensor:
        return th.cat([d.sample() for d in self.parts], dim=1)

    def mode(self) -> th.Tensor:
        return th.cat([th.argmax(d.probs, dim=-1) for d in self.parts], dim=1)


class PerUserPolicy(ActorCriticPolicy):
    """Actor-critic with per-user weight sharing (module docstring).

    Args:
        observation_space: ``Box((K F,))``, the env's flattened observation.
        action_space: A NomaSplit action view: ``MultiDiscrete`` or ``Box((D,))``
            with ``D`` a multiple of ``K``.
        lr_schedule: Learning-rate schedule (given by SB3).
        num_users: K.
        hidden: H, width of the per-user layers.
        rounds: Mixing rounds of the actor (>= 0).
        **kwargs: Passed to :class:`~stable_baselines3.common.policies.ActorCriticPolicy`
            (``activation_fn``, ``ortho_init``, ``log_std_init``, ...).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Any,
        num_users: int = 1,
        hidden: int = 128,
        rounds: int = 2,
        mixer: str = "mean",
        heads: int = 4,
        **kwargs: Any,
    ) -> None:
        _check_per_user(
            "PerUserPolicy", observation_space, action_space, num_users, hidden, mixer, heads
        )
        if kwargs.get("net_arch") is not None:
            raise ValueError("PerUserPolicy: net_arch is not used; set hidden and rounds")
        self.num_users, self.hidden, self.rounds = num_users, hidden, rounds
        self.mixer, self.heads = mixer, heads
        kwargs.setdefault("activation_fn", nn.Tanh)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        features = int(np.prod(self.observation_space.shape)) // self.num_users
        self.mlp_extractor = _Extractor(
            self.num_users,
            features,
            self.hidden,
            self.rounds,
            self.activation_fn,
            self.mixer,
            self.heads,
        )

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        k = self.num_users
        if isinstance(self.action_space, spaces.MultiDiscrete):
            nvec = np.asarray(self.action_space.nvec).reshape(-1, k)
            blocks = [int(b[0]) for b in nvec]
            if np.any(nvec != nvec[:, :1]):
                raise ValueError(
                    f"PerUserPolicy: got MultiDiscrete {self.action_space.nvec.tolist()}, "
                    f"allowed: blocks of {k} equal sizes (a NomaSplit MultiDiscrete view)"
                )
            self.action_dist = _BlockCategorical(nvec.ravel().tolist(), k, blocks)
        else:
            blocks = [1] * (int(np.prod(self.action_space.shape)) // k)
        self.action_net = _UserHead(k, self.hidden, blocks)
        if self.ortho_init:  # SB3's initialization of the action head: small logits
            nn.init.orthogonal_(self.action_net.linear.weight, gain=0.01)
            nn.init.zeros_(self.action_net.linear.bias)
        self.optimizer = self.optimizer_class(
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )

    def deterministic_action(self, observation: np.ndarray) -> np.ndarray | None:
        """``predict(observation, deterministic=True)`` for one (normalized) observation
        in the MultiDiscrete view, without SB3's generic path: the argmax of each
        block's logits, in inference mode (about half the time of ``model.predict`` on
        ``default``; the same actions, tested). None for the Box view (SB3's path)."""
        if not isinstance(self.action_space, spaces.MultiDiscrete):
            return None
        with th.inference_mode():
            x = th.as_tensor(observation, dtype=th.float32, device=self.device)[None]
            logits = self.action_net(self.mlp_extractor.forward_actor(self.extract_features(x)))
            k, blocks = self.num_users, self.action_net.blocks
            chunks = th.split(logits[0], [k * b for b in blocks])
            modes = [c.view(k, b).argmax(dim=1) for c, b in zip(chunks, blocks, strict=True)]
            return th.cat(modes).numpy()

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            num_users=self.num_users,
            hidden=self.hidden,
            rounds=self.rounds,
            mixer=self.mixer,
            heads=self.heads,
        )
        return data


_NUMPY_ACTIVATIONS = {nn.Tanh: np.tanh, nn.ReLU: lambda x: np.maximum(x, 0.0)}
"""The activations :class:`NumpyActor` can mirror."""


class NumpyActor:
    """:meth:`PerUserPolicy.deterministic_action` in numpy, for agents that only act.

    The network is a few dozen small operations (``K`` rows of ``H`` values), and
    torch spends most of a decision in its per-operation dispatch and the modules'
    Python (``nn.MultiheadAttention``'s checks alone take about 90 us a round on
    ``default``); numpy on a copy of the weights computes the same layers in float32
    in a fraction of that. The logits differ from torch's by float rounding only, so
    the actions are the same unless two logits tie to about 1e-6 (tested on the
    shipped policies' observations). The copy is taken once: build a new one after
    the weights change (:class:`~train.sb3_agent.SB3Agent` loads a model and never
    trains it).

    Use :meth:`of`, which returns None for a policy it cannot mirror (another
    policy class, the Box view, another activation).
    """

    def __init__(self, policy: PerUserPolicy) -> None:
        def arr(t: th.Tensor) -> np.ndarray:
            return t.detach().cpu().numpy().astype(np.float32)

        enc = policy.mlp_extractor.actor
        self.num_users, self.features = enc.num_users, enc.features
        self.act = _NUMPY_ACTIVATIONS[policy.activation_fn]
        self.embed = (arr(enc.embed[0].weight).T.copy(), arr(enc.embed[0].bias))
        self.mixer, self.heads = policy.mixer, policy.heads
        self.rounds: list[dict[str, Any]] = []
        for layer in enc.mix:
            if self.mixer == "attention":
                mha = layer.attention
                self.rounds.append({
                    "norm1": (arr(layer.norm1.weight), arr(layer.norm1.bias), layer.norm1.eps),
                    "norm2": (arr(layer.norm2.weight), arr(layer.norm2.bias), layer.norm2.eps),
                    "qkv": (arr(mha.in_proj_weight).T.copy(), arr(mha.in_proj_bias)),
                    "out": (arr(mha.out_proj.weight).T.copy(), arr(mha.out_proj.bias)),
                    "ffn1": (arr(layer.ffn[0].weight).T.copy(), arr(layer.ffn[0].bias)),
                    "ffn2": (arr(layer.ffn[2].weight).T.copy(), arr(layer.ffn[2].bias)),
                })  # fmt: skip
            else:
                lin = layer.layer[0]
                self.rounds.append({"mix": (arr(lin.weight).T.copy(), arr(lin.bias))})
        head = policy.action_net
        self.head = (arr(head.linear.weight).T.copy(), arr(head.linear.bias))
        self.blocks = list(head.blocks)
        self._edges = np.cumsum(self.blocks)[:-1]  # where each block's logits start

    @classmethod
    def of(cls, policy: Any) -> NumpyActor | None:
        """The numpy mirror of ``policy``, or None if it cannot be mirrored."""
        if (
            not isinstance(policy, PerUserPolicy)
            or not isinstance(policy.action_space, spaces.MultiDiscrete)
            or policy.activation_fn not in _NUMPY_ACTIVATIONS
        ):
            return None
        return cls(policy)

    @staticmethod
    def _norm(h: np.ndarray, norm: tuple[np.ndarray, np.ndarray, float]) -> np.ndarray:
        weight, bias, eps = norm
        centred = h - h.mean(axis=-1, keepdims=True)
        var = (centred * centred).mean(axis=-1, keepdims=True)
        return centred / np.sqrt(var + np.float32(eps)) * weight + bias

    def _attention(self, z: np.ndarray, r: dict[str, Any]) -> np.ndarray:
        k, hidden = z.shape
        heads = self.heads
        d = hidden // heads
        qkv = z @ r["qkv"][0] + r["qkv"][1]  # [K, 3H]
        q, key, v = (qkv[:, i * hidden : (i + 1) * hidden].reshape(k, heads, d).transpose(1, 0, 2)
                     for i in range(3))  # fmt: skip
        scores = q @ key.transpose(0, 2, 1) * np.float32(1.0 / np.sqrt(d))  # [heads, K, K]
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        mixed = (scores @ v).transpose(1, 0, 2).reshape(k, hidden)
        return mixed @ r["out"][0] + r["out"][1]

    def logits(self, observation: np.ndarray) -> np.ndarray:
        """``[K, sum of the blocks]``: each user's logits, block after block, for one
        (normalized) observation (the policy's ``action_net`` output, per user)."""
        x = np.asarray(observation, dtype=np.float32).reshape(self.num_users, self.features)
        h = self.act(x @ self.embed[0] + self.embed[1])
        for r in self.rounds:
            if self.mixer == "attention":
                h = h + self._attention(self._norm(h, r["norm1"]), r)
                z = self._norm(h, r["norm2"])
                h = h + (self.act(z @ r["ffn1"][0] + r["ffn1"][1]) @ r["ffn2"][0] + r["ffn2"][1])
            else:
                context = np.broadcast_to(h.mean(axis=0, keepdims=True), h.shape)
                h = self.act(np.concatenate((h, context), axis=1) @ r["mix"][0] + r["mix"][1])
        return h @ self.head[0] + self.head[1]

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        """The deterministic MultiDiscrete action for one (normalized) observation:
        the argmax of each block's logits, block-major as the view lays it out."""
        parts = np.split(self.logits(observation), self._edges, axis=1)
        return np.concatenate([b.argmax(axis=1) for b in parts])


# --------------------------------------------------------------------------- off-policy
class _UserActorNet(nn.Module):
    """``[B, K F] -> [B, K H]`` flattened: the per-user encoder as one module, for the
    actors of :class:`PerUserTD3Policy` and :class:`PerUserSACPolicy`."""

    def __init__(self, encoder: _UserEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: th.Tensor) -> th.Tensor:
        return self.encoder(x).flatten(1)


class _UserQ(nn.Module):
    """One per-user Q network ``[B, K F + D] -> [B, 1]``: every user's features with
    its own ``D / K`` action entries (the view is block-major, so user ``k``'s entries
    are ``k, K + k, 2K + k, ...``), encoded and mixed like the actor's users, then
    mean-pooled and mapped to the Q-value. It is invariant to relabelling the users."""

    def __init__(
        self,
        num_users: int,
        features: int,
        entries: int,
        hidden: int,
        rounds: int,
        act: type[nn.Module],
        mixer: str,
        heads: int,
    ) -> None:
        super().__init__()
        self.num_users, self.features, self.entries = num_users, features, entries
        self.encoder = _UserEncoder(
            num_users, features + entries, hidden, rounds, act, mixer, heads
        )
        self.value = nn.Linear(hidden, 1)

    def forward(self, x: th.Tensor) -> th.Tensor:
        b, k = x.shape[0], self.num_users
        obs = x[:, : k * self.features].reshape(b, k, self.features)
        actions = x[:, k * self.features :].reshape(b, self.entries, k).transpose(1, 2)
        h = self.encoder(th.cat((obs, actions), dim=-1).flatten(1))
        return self.value(h.mean(dim=1))


class _PerUserOffPolicy:
    """What :class:`PerUserTD3Policy` and :class:`PerUserSACPolicy` share: the
    per-user settings, their checks, and per-user critics in place of SB3's MLPs."""

    num_users: int
    hidden: int
    rounds: int
    mixer: str
    heads: int
    critic_rounds: int
    critic_hidden: int
    per_user_activation: type[nn.Module]

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Any,
        num_users: int = 1,
        hidden: int = 128,
        rounds: int = 2,
        mixer: str = "mean",
        heads: int = 4,
        critic_rounds: int = 2,
        critic_hidden: int | None = None,
        **kwargs: Any,
    ) -> None:
        name = type(self).__name__
        if not isinstance(action_space, spaces.Box):
            raise ValueError(
                f"{name}: got a {type(action_space).__name__} action space, allowed: Box"
            )
        if kwargs.get("use_sde"):
            raise ValueError(f"{name}: got use_sde=True, allowed: False")
        _check_per_user(name, observation_space, action_space, num_users, hidden, mixer, heads)
        if kwargs.get("net_arch") is not None:
            raise ValueError(f"{name}: net_arch is not used; set hidden and rounds")
        critic_hidden = hidden if critic_hidden is None else critic_hidden
        if mixer == "attention" and critic_hidden % heads:
            raise ValueError(
                f"{name}.critic_hidden: got {critic_hidden!r}, allowed: a multiple of heads "
                f"({heads})"
            )
        self.num_users, self.hidden, self.rounds = num_users, hidden, rounds
        self.mixer, self.heads = mixer, heads
        self.critic_rounds, self.critic_hidden = critic_rounds, critic_hidden
        kwargs["net_arch"] = []  # SB3 builds its (unused) MLPs from the features directly
        kwargs.setdefault("activation_fn", nn.ReLU)
        self.per_user_activation = kwargs["activation_fn"]
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)  # type: ignore[call-arg]

    def _user_sizes(self) -> tuple[int, int]:
        """(features per user, action entries per user)."""
        k = self.num_users
        features = int(np.prod(self.observation_space.shape)) // k  # type: ignore[attr-defined]
        return features, int(np.prod(self.action_space.shape)) // k  # type: ignore[attr-defined]

    def _actor_encoder(self) -> _UserActorNet:
        features, _ = self._user_sizes()
        return _UserActorNet(
            _UserEncoder(
                self.num_users,
                features,
                self.hidden,
                self.rounds,
                self.per_user_activation,
                self.mixer,
                self.heads,
            )
        )

    def make_critic(self, features_extractor: Any = None) -> Any:
        """SB3's critic with per-user Q networks (:class:`_UserQ`) in place of its MLPs."""
        critic = super().make_critic(features_extractor)  # type: ignore[misc]
        features, entries = self._user_sizes()
        critic.q_networks = []
        for idx in range(critic.n_critics):
            q_net = _UserQ(
                self.num_users,
                features,
                entries,
                self.critic_hidden,
                self.critic_rounds,
                self.per_user_activation,
                self.mixer,
                self.heads,
            )
            setattr(critic, f"qf{idx}", q_net)  # replaces SB3's MLP
            critic.q_networks.append(q_net)
        return critic.to(self.device)  # type: ignore[attr-defined]

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()  # type: ignore[misc]
        data.pop("net_arch", None)  # fixed: SB3's MLPs are replaced
        data.update(
            num_users=self.num_users,
            hidden=self.hidden,
            rounds=self.rounds,
            mixer=self.mixer,
            heads=self.heads,
            critic_rounds=self.critic_rounds,
            critic_hidden=self.critic_hidden,
        )
        return data


class PerUserTD3Policy(_PerUserOffPolicy, TD3Policy):
    """TD3's actor and critics with per-user weight sharing.

    The actor is :class:`PerUserPolicy`'s encoder (``rounds`` of mixing) with a shared
    linear head per user and a ``tanh``: a deterministic action in the Box view. Each
    critic (:class:`_UserQ`) encodes every user's features with that user's action
    entries, mixes them ``critic_rounds`` times and mean-pools them into the Q-value.
    """

    def make_actor(self, features_extractor: Any = None) -> Any:
        actor = super().make_actor(features_extractor)
        _, entries = self._user_sizes()
        actor.mu = nn.Sequential(
            self._actor_encoder(), _UserHead(self.num_users, self.hidden, [1] * entries), nn.Tanh()
        )
        return actor.to(self.device)


class PerUserSACPolicy(_PerUserOffPolicy, SACPolicy):
    """SAC's squashed-Gaussian actor and critics with per-user weight sharing: the
    actor's latent is the per-user encoder, its mean and log-std are shared linear
    heads per user; the critics are :class:`PerUserTD3Policy`'s."""

    def make_actor(self, features_extractor: Any = None) -> Any:
        actor = super().make_actor(features_extractor)
        _, entries = self._user_sizes()
        k, h = self.num_users, self.hidden
        actor.latent_pi = self._actor_encoder()
        actor.mu = _UserHead(k, h, [1] * entries)
        actor.log_std = _UserHead(k, h, [1] * entries)
        return actor.to(self.device)


def per_user_policy(algo: str) -> type:
    """The per-user policy class of ``algo`` (``policy: PerUserPolicy`` in a config):
    :class:`PerUserPolicy` for PPO and A2C, :class:`PerUserTD3Policy` for TD3 and
    :class:`PerUserSACPolicy` for SAC."""
    classes = {"ppo": PerUserPolicy, "a2c": PerUserPolicy}
    classes.update(td3=PerUserTD3Policy, sac=PerUserSACPolicy)
    if algo not in classes:
        raise ValueError(f"per_user_policy: got {algo!r}, allowed: {', '.join(classes)}")
    return classes[algo]
