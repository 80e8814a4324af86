"""Observation bounds: finite, derived from the layout, and every observation inside them."""

import gymnasium as gym
import numpy as np
import pytest

import melee_envs
from melee_envs.data import characters, stages
from melee_envs.envs.vector import MeleeVectorEnv
from melee_envs.obs import ObsConfig, ObservationEncoder

PRESETS = {"default": ObsConfig(), "learned": ObsConfig.learned(), "seed_1204": ObsConfig.seed_1204()}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_bounds_are_finite_and_follow_the_layout(preset):
    encoder = ObservationEncoder(PRESETS[preset])
    low, high = encoder.bounds()
    assert np.isfinite(low).all() and np.isfinite(high).all() and (low < high).all()
    layout = encoder.layout
    for block in ("player0.action", "player1.character", "stage"):
        if block in layout:  # one-hots
            assert (low[layout[block]] == 0).all() and (high[layout[block]] == 1).all()
    x = layout["player0.x"]
    blast = max(max(-s.blast_left, s.blast_right) for s in stages.stages().values()) / 100
    assert blast < high[x][0] < blast + 1  # positions: the blast zones plus a margin
    assert high[layout["player0.percent"]][0] == pytest.approx(9.99)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_long_random_games_of_every_character_and_stage_stay_inside(preset):
    """Random play on every stage (drawn per game) for every character: positions past the blast
    zones, knockback speeds, long actions, projectiles; every observation must be contained."""
    space, checked = None, 0
    for name in characters.playable():
        env = MeleeVectorEnv(
            16, mode="self_play", stage="random", characters=(name, "fox"), obs=PRESETS[preset], frame_skip=4,
            start_spread=0.45, start_percent=150, stocks=2, time_limit_minutes=1, seed=0,
        )  # fmt: skip
        space = env.single_observation_space
        obs, _ = env.reset(seed=hash(name) % 1000)
        rng = np.random.default_rng(0)
        for _ in range(450):
            obs, *_ = env.step(rng.integers(0, env.single_action_space.nvec, size=(16, 13)))
            bad = ~((obs >= space.low) & (obs <= space.high)).all(axis=1)
            assert not bad.any(), f"{name}: row {np.argmax(bad)} outside its bounds"
            checked += 16
    assert checked >= 25 * 16 * 450
    print(f"{preset}: {checked:,} observations of every character inside observation_space")


def test_clipping_keeps_an_extreme_state_inside_and_the_single_env_agrees():
    env = gym.make("Melee-v0", opponent="idle").unwrapped
    env.reset(seed=0)
    state = env.game.backend.packed
    state.pf[0, 0, 0, state_column("x")] = 10_000.0  # far past any blast zone
    state.pf[0, 1, 0, state_column("speed_attack_x")] = -900.0
    env.game._encode()
    obs = env.game.obs[0]
    assert env.observation_space.contains(obs)
    assert obs[env.layout["player0.x"]][0] == env.observation_space.high[env.layout["player0.x"]][0]
    assert melee_envs.parallel_env().state_space.shape == (1035 + 13,)


def state_column(name: str) -> int:
    from melee_envs.state import PLAYER_FLOAT_COLUMNS

    return PLAYER_FLOAT_COLUMNS.index(name)
