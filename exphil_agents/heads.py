"""Controller heads: latent features -> a distribution over the codec's ``MultiDiscrete`` actions.

* :class:`IndependentHead`: one linear layer giving every component's logits at once, the same
  layout as stable-baselines3's ``MultiCategoricalDistribution`` (``action_net``), so its weights
  load straight into a PPO policy.
* :class:`AutoregressiveHead`: buttons, then main stick, then c-stick, then shoulder, each
  conditioned on the components before it (teacher-forced for training, sampled in order for
  play), so a jump can decide where the stick goes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import Categorical

from melee_envs.controller import ACTION_PARTS


def pick(dists: list[Categorical], deterministic: bool) -> list[torch.Tensor]:
    """One choice per distribution: the most likely, or a sample."""
    return [d.probs.argmax(-1) if deterministic else d.sample() for d in dists]


def split_logits(logits: torch.Tensor, nvec: Sequence[int]) -> list[Categorical]:
    """One categorical per action component from concatenated logits (SB3's layout)."""
    return [Categorical(logits=lg) for lg in logits.split(list(nvec), dim=-1)]


class IndependentHead(nn.Module):
    def __init__(self, latent_size: int, nvec: Sequence[int]) -> None:
        super().__init__()
        self.nvec = [int(n) for n in nvec]
        self.linear = nn.Linear(latent_size, sum(self.nvec))

    def logits(self, latent: torch.Tensor) -> torch.Tensor:
        """Concatenated logits of every component (SB3's ``MultiCategorical`` layout)."""
        return self.linear(latent)

    def distributions(self, latent: torch.Tensor) -> list[Categorical]:
        return split_logits(self.linear(latent), self.nvec)

    def log_prob(self, latent: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        dists = self.distributions(latent)
        return torch.stack([d.log_prob(actions[..., k]) for k, d in enumerate(dists)], dim=-1).sum(-1)

    def sample(self, latent: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        return torch.stack(pick(self.distributions(latent), deterministic), dim=-1)


class AutoregressiveHead(nn.Module):
    """Each group's logits come from the latent plus embeddings of the groups chosen before it."""

    def __init__(self, latent_size: int, nvec: Sequence[int], embed: int = 32) -> None:
        super().__init__()
        self.nvec = [int(n) for n in nvec]
        self.embeds = nn.ModuleList()
        self.outs = nn.ModuleList()
        width = latent_size
        for _, sl in ACTION_PARTS:
            sizes = self.nvec[sl]
            self.outs.append(nn.Linear(width, sum(sizes)))
            self.embeds.append(nn.ModuleList(nn.Embedding(n, embed) for n in sizes))
            width += embed

    def _walk(self, latent: torch.Tensor, actions: torch.Tensor | None, deterministic: bool):
        context = latent
        chosen, log_probs = [], []
        for (_, sl), out, embeds in zip(ACTION_PARTS, self.outs, self.embeds, strict=True):
            dists = split_logits(out(context), self.nvec[sl])
            if actions is None:
                picks = pick(dists, deterministic)
            else:
                picks = [actions[..., sl.start + k] for k in range(len(dists))]
            log_probs += [d.log_prob(p) for d, p in zip(dists, picks, strict=True)]
            chosen += picks
            context = torch.cat([context, sum(e(p) for e, p in zip(embeds, picks, strict=True))], dim=-1)
        return torch.stack(chosen, dim=-1), torch.stack(log_probs, dim=-1).sum(-1)

    def log_prob(self, latent: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self._walk(latent, actions.long(), False)[1]

    def sample(self, latent: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        return self._walk(latent, None, deterministic)[0]
