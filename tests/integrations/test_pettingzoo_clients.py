"""PettingZoo's own test suite, SuperSuit's wrappers and the PettingZoo -> SuperSuit -> SB3 tutorial."""

import numpy as np
import pytest
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    performance_benchmark,
    render_test,
    seed_test,
)

import melee_envs

SHORT = {"stocks": 1, "time_limit_minutes": 0.05}


def test_the_full_pettingzoo_test_suite():
    parallel_api_test(melee_envs.parallel_env(**SHORT), num_cycles=400)
    api_test(melee_envs.env(**SHORT), num_cycles=400)
    parallel_seed_test(lambda: melee_envs.parallel_env(start_spread=0.3, start_percent=50, **SHORT))
    seed_test(lambda: melee_envs.env(start_spread=0.3, **SHORT), num_cycles=300)
    max_cycles_test(melee_envs)
    render_test(lambda render_mode=None: melee_envs.env(render_mode=render_mode))
    performance_benchmark(melee_envs.env())
    print("pettingzoo.test: api, parallel_api, seed, parallel_seed, max_cycles, render, performance passed")


def test_human_rendering_without_a_display_names_the_fix(monkeypatch):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(var, raising=False)
    env = melee_envs.parallel_env(render_mode="human")
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="no display.*rgb_array.*xvfb-run.*SDL_VIDEODRIVER=dummy"):
        env.render()


def test_state_and_max_cycles_and_frame_skip():
    env = melee_envs.parallel_env(max_cycles=5, frame_skip=3, delay=1)
    obs, _ = env.reset(seed=0)
    state = env.state()
    assert env.state_space.contains(state) and state.shape == (1035 + 13,)
    np.testing.assert_array_equal(state[:1035], obs["port_1"])
    for _ in range(5):
        _, _, terms, truncs, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
    assert all(truncs.values()) and not any(terms.values()) and env.agents == []
    assert infos["port_1"]["melee"]["frames"] == 15  # 5 steps of 3 frames


def test_supersuit_wrappers():
    import supersuit as ss

    env = ss.frame_skip_v0(melee_envs.parallel_env(**SHORT), 3)  # draws from env.unwrapped.np_random
    env = ss.normalize_obs_v0(ss.dtype_v0(env, np.float32))  # needs finite bounds
    env = ss.frame_stack_v1(env, 2)
    obs, _ = env.reset(seed=0)
    steps = 0
    while env.agents:
        obs, *_ = env.step({a: env.action_space(a).sample() for a in env.agents})
        steps += 1
    assert 0 < steps <= 80 and obs["port_1"].shape == (2070,)
    print(f"SuperSuit frame_skip_v0/dtype_v0/normalize_obs_v0/frame_stack_v1: a game in {steps} steps")


def test_supersuit_black_death_is_supersuits_fault():
    """SuperSuit 3.11's ``black_death_v3`` ends an episode only when every agent is terminated
    *and* truncated at once (``&`` where ``|`` is meant), so with any env that ends by termination
    it steps a finished game. Both Melee agents always end together, so the wrapper has nothing
    to do here: leave it out (docs/integrations.md). This test pins the fault: when SuperSuit
    fixes it, it fails and the docs line goes."""
    import supersuit as ss

    env = ss.black_death_v3(melee_envs.parallel_env(**SHORT))
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="finished game"):
        for _ in range(1000):
            env.step({a: env.action_space(a).sample() for a in env.possible_agents})


@pytest.mark.parametrize("num_cpus", [1, 2])
def test_supersuit_concat_vec_envs_plays_the_same_games_as_the_env(num_cpus):
    """concat_vec_envs_v1 copies the env (cloudpickle): the copies must play exactly as the original."""
    import supersuit as ss

    # close spawns, long games and 2,500 steps: random play lands hits (20 nonzero rewards at
    # seed 0 since the engine tests every hitbox of each frame; 8 in the first 1,500 steps), so the
    # rewards compared say something
    make = lambda: melee_envs.parallel_env(stage="random", start_spread=0.45, stocks=1, time_limit_minutes=0.2)  # noqa: E731
    vec = ss.concat_vec_envs_v1(ss.pettingzoo_env_to_vec_env_v1(make()), 2, num_cpus=num_cpus)
    obs, _ = vec.reset(seed=7)
    direct = [make() for _ in range(2)]
    expected = np.concatenate([np.stack(list(d.reset(seed=7 + i)[0].values())) for i, d in enumerate(direct)])
    np.testing.assert_array_equal(obs, expected)
    rng = np.random.default_rng(0)
    nonzero = 0
    for _ in range(2500):
        actions = rng.integers(0, 17, size=(4, 13)) % vec.action_space.nvec
        obs, rew, term, trunc, infos = vec.step(actions)
        want = []
        for i, d in enumerate(direct):
            o, r, te, tr, inf = d.step({"port_1": actions[2 * i], "port_2": actions[2 * i + 1]})
            want.append(np.array([r["port_1"], r["port_2"]], np.float32))
            if not d.agents:
                assert infos[2 * i]["melee"] == inf["port_1"]["melee"]
                d.reset()
        np.testing.assert_array_equal(rew, np.concatenate(want))
        nonzero += int((rew != 0).sum())
    vec.close()
    assert nonzero >= 10
    print(f"concat_vec_envs_v1(num_cpus={num_cpus}): 2500 steps equal to the env's own, {nonzero} nonzero rewards")


def test_pettingzoo_supersuit_sb3_tutorial_route():
    """The PettingZoo + SuperSuit + SB3 tutorial, as written (plus VecMonitor for ep_rew_mean)."""
    import supersuit as ss
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import KVWriter, configure
    from stable_baselines3.common.vec_env import VecMonitor
    from stable_baselines3.ppo import MlpPolicy

    env = melee_envs.parallel_env(frame_skip=4, **SHORT)
    env.reset(seed=42)
    env = ss.pettingzoo_env_to_vec_env_v1(env)
    env = ss.concat_vec_envs_v1(env, 4, num_cpus=1, base_class="stable_baselines3")
    env = VecMonitor(env)
    model = PPO(MlpPolicy, env, verbose=0, learning_rate=1e-3, batch_size=256, n_steps=128)
    records = []

    class Keep(KVWriter):
        def write(self, key_values, key_excluded, step=0):
            records.append(dict(key_values))

        def close(self):
            pass

    logger = configure(None, [])
    logger.output_formats.append(Keep())
    model.set_logger(logger)
    model.learn(total_timesteps=4096)
    logged = [r["rollout/ep_rew_mean"] for r in records if "rollout/ep_rew_mean" in r]
    assert logged and all(np.isfinite(logged))
    env.close()
    print(f"PettingZoo -> SuperSuit -> SB3 PPO: 4096 steps, ep_rew_mean logged {len(logged)} times")
