"""PPO with an optional KL pull toward a behavioural-cloning teacher.

``TeacherPPO`` is SB3's PPO; after :meth:`TeacherPPO.set_teacher` every gradient step also
minimises ``kl_coef * KL(teacher || learner)`` over the controller components, on a minibatch
of the current rollout's observations (the teacher is the BC network the learner was warm-started
from). This keeps a self-play learner close to human play while it improves, as in AlphaStar's
supervised KL term. Without a teacher it is plain PPO.
"""

from __future__ import annotations

from typing import Any

import torch
from stable_baselines3 import PPO


class TeacherPPO(PPO):
    _teacher: Any = None
    kl_coef: float = 0.0

    def set_teacher(self, checkpoint: str, kl_coef: float) -> None:
        """Load the BC network at ``checkpoint`` (folder or .safetensors) as the teacher."""
        from exphil_agents.network import checkpoint_file, load_checkpoint

        if kl_coef < 0:
            raise ValueError(f"kl_coef must be >= 0; got {kl_coef}")
        network = load_checkpoint(checkpoint_file(checkpoint))
        if network.head_kind != "independent":
            raise ValueError(
                f"{checkpoint}: the teacher needs an independent controller head; got {network.head_kind!r}"
            )
        if list(network.nvec) != [int(n) for n in self.action_space.nvec]:
            raise ValueError(f"{checkpoint}: teacher controller {list(network.nvec)} differs from the learner's")
        if network.encoder.obs_size != self.observation_space.shape[-1]:
            raise ValueError(f"{checkpoint}: teacher takes {network.encoder.obs_size} observation values")
        self._teacher = network.eval().requires_grad_(False)
        self.kl_coef = float(kl_coef)

    def kl_to_teacher(self, obs: torch.Tensor) -> torch.Tensor:
        """Mean over ``obs`` of KL(teacher || learner), summed over the controller components."""
        with torch.no_grad():
            latent, _ = self._teacher.step(obs, None)
            teacher = self._teacher.head.logits(latent)
        dists = self.policy.get_distribution(obs).distribution
        kl = obs.new_zeros(obs.shape[0])
        start = 0
        for dist in dists:
            n = dist.logits.shape[-1]
            t = torch.log_softmax(teacher[:, start : start + n], dim=-1)
            kl = kl + (t.exp() * (t - torch.log_softmax(dist.logits, dim=-1))).sum(-1)
            start += n
        return kl.mean()

    def train(self) -> None:
        if self._teacher is None or self.kl_coef == 0:
            super().train()
            return
        optimizer = self.policy.optimizer
        observations = self.rollout_buffer.observations.reshape(-1, self.observation_space.shape[-1])
        values: list[float] = []

        def step(*args: Any, **kwargs: Any) -> Any:
            idx = torch.randint(len(observations), (self.batch_size,))
            obs = torch.as_tensor(observations[idx.numpy()], device=self.device)
            kl = self.kl_to_teacher(obs)
            (self.kl_coef * kl).backward()
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            values.append(float(kl.detach()))
            return type(optimizer).step(optimizer, *args, **kwargs)

        optimizer.step = step  # the PPO update calls this once per minibatch
        try:
            super().train()
        finally:
            del optimizer.step
        if values:
            self.logger.record("league/kl_to_teacher", sum(values) / len(values))

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_teacher"]
