"""The self-play env: per-episode opponents, batched inference, mirrored views, bots' frame."""

import numpy as np
import pytest

from exphil_agents.actors import BotActor, NetActor
from exphil_agents.league.selfplay import LeagueVecEnv
from melee_envs.controller import ControllerCodec
from melee_envs.obs import ObsConfig, ObservationEncoder

NOOP = ControllerCodec().noop().astype(np.int64)


class Recorder:
    """A stateless network stand-in: records what it is asked, answers with a neutral pad."""

    def __init__(self):
        self.calls = []

    def __call__(self, obs, state, starts):
        self.calls.append(obs.copy())
        return np.broadcast_to(NOOP, (len(obs), 13)).copy(), None


def _env(opponents, resolve, games=6, **kwargs):
    cycle = iter(np.resize(opponents, 10_000))
    kwargs.setdefault("time_limit_minutes", 0.1)
    return LeagueVecEnv(games, sample_opponent=lambda b: str(next(cycle)), resolve=resolve, seed=0, **kwargs)


def test_opponents_are_batched_and_drawn_again_for_every_game():
    recorders = {"net-a": Recorder(), "net-b": Recorder()}

    def resolve(name):
        if name.startswith("bot:"):
            return BotActor(name[4:])
        return NetActor(name, recorders[name], ObsConfig())

    env = _env(["net-a", "net-b", "bot:scripted"], resolve)
    env.reset()
    assert env.opponents == ["net-a", "net-b", "bot:scripted"] * 2
    seen, expected = [], {"net-a": [], "net-b": []}
    for _ in range(400):
        before = list(env.opponents)
        for name, sizes in expected.items():
            if before.count(name):
                sizes.append(before.count(name))
        obs, rewards, dones, infos = env.step(np.broadcast_to(NOOP, (6, 13)))
        assert obs.shape == (6, env.observation_space.shape[0]) and rewards.shape == (6,)
        for b in np.flatnonzero(dones):
            assert infos[b]["league_opponent"] == before[b]
            assert set(infos[b]["melee"]) >= {"won", "draw", "frames"}
            seen.append(before[b])
    assert len(seen) >= 6  # 6-second games: every game ended at least once, and was re-drawn
    for name, sizes in expected.items():  # one call per step per network, all its games at once
        assert [len(c) for c in recorders[name].calls] == sizes


def test_network_opponents_read_port_2s_mirrored_view():
    recorder = Recorder()
    env = _env(["net"], lambda name: NetActor(name, recorder, ObsConfig()), games=4)
    env.reset()
    encoder = ObservationEncoder(ObsConfig())
    for _ in range(30):
        want = encoder.encode_packed(env.env.backend.packed, ego=1, mirror=True).copy()
        env.step(np.broadcast_to(NOOP, (4, 13)))
        np.testing.assert_allclose(recorder.calls[-1], want, atol=1e-6)


@pytest.mark.parametrize("stage", ["FINAL_DESTINATION", "BATTLEFIELD"])
def test_bot_opponents_act_in_world_coordinates(stage):
    """The env flips a bot's stick x so that the kernel's flip for port 2 restores it: the
    scripted bot must beat an idle learner as it does outside the env."""
    env = _env(["bot:scripted"], lambda name: BotActor(name[4:]), games=8, time_limit_minutes=0.5, stage=stage)
    env.reset()
    results = []
    while len(results) < 16:
        _, _, dones, infos = env.step(np.broadcast_to(NOOP, (8, 13)))
        results += [infos[b]["melee"] for b in np.flatnonzero(dones)]
    assert sum(not r["won"] and not r["draw"] for r in results) >= 15


def test_stateful_opponents_are_refused():
    env = _env(["rnn"], lambda name: NetActor(name, Recorder(), ObsConfig(), stateless=False), games=2)
    with pytest.raises(ValueError, match="feed-forward"):
        env.reset()
