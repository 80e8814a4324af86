"""Several bots in one batch (``"scripted+idle"``): game b plays bot b % k."""

import numpy as np
import pytest

from melee_envs.controller import ControllerCodec
from melee_envs.opponents import MixedOpponent, is_bot, make_opponent, play_bots


def test_each_game_plays_its_own_bot():
    codec = ControllerCodec()
    mixed = make_opponent("scripted+idle+jumper", codec, seed=0)
    assert isinstance(mixed, MixedOpponent) and mixed.names == ["scripted", "idle", "jumper"]
    from melee_envs.backends.mock import MockBackend, MockConfig

    backend = MockBackend(6, MockConfig())
    backend.reset(0)
    alone = {name: make_opponent(name, codec, seed=k)(backend.state, 1) for k, name in enumerate(mixed.names)}
    actions = mixed(backend.state, 1)
    assert actions.shape == (6, codec.nvec.size)
    for b in range(6):
        name = mixed.names[b % 3]
        assert np.array_equal(actions[b], alone[name][b]), (b, name)


def test_names_and_errors():
    assert is_bot("scripted:1+idle") and not is_bot("scripted+nobody") and not is_bot("scripted:12+idle")
    with pytest.raises(ValueError, match="joined by \\+"):
        make_opponent("scripted+nobody", ControllerCodec())


def test_a_mixed_ladder_loses_to_the_full_bot_less_than_idle_does():
    idle = play_bots("scripted", "idle", 8, seed=0, stocks=1, time_limit_minutes=0.5)
    mixed = play_bots("scripted", "scripted+idle", 8, seed=0, stocks=1, time_limit_minutes=0.5)
    assert idle["wins"][0] == 8  # the full bot beats idle every game
    assert mixed["wins"][0] < 8  # half the mixed games are against the full bot itself
