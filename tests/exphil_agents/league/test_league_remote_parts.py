"""The pieces of the league on Ray that need no cluster: the opponent menu workers draw from, how
games are split over workers, and the weights sent to them."""

import numpy as np
import pytest
import torch

from melee_envs.settings import GameSettings


def test_the_opponent_menu_gives_each_kind_its_share(tmp_path):
    from exphil_agents.league.train import League, LeagueConfig

    league = League(LeagueConfig(dir=tmp_path, self_play=0.3, bot_fraction=0.3, bots=("idle", "scripted")))
    ids, p = league.opponent_menu("main-0")
    assert dict(zip(ids, p, strict=True)) == pytest.approx({"self:main-0": 0.3, "bot:idle": 0.35, "bot:scripted": 0.35})
    league.state.record_snapshot("main-0@000000100", "main-0", 100)
    league.state.record_snapshot("main-0@000000200", "main-0", 200)
    ids, p = league.opponent_menu("main-0")
    share = dict(zip(ids, p, strict=True))
    assert share["self:main-0"] == pytest.approx(0.3) and p.sum() == pytest.approx(1.0)
    assert share["bot:idle"] + share["bot:scripted"] == pytest.approx(0.3)
    assert share["main-0@000000100"] + share["main-0@000000200"] == pytest.approx(0.4)
    drawn = [league.sample_opponent("main-0") for _ in range(4000)]  # the local league draws from it too
    for opponent, q in share.items():
        assert drawn.count(opponent) / len(drawn) == pytest.approx(q, abs=0.03), opponent
    league.state.close()


def test_games_split_over_workers_and_too_few_are_refused(tmp_path):
    from exphil_agents.league.remote import shard_sizes
    from exphil_agents.league.train import League, LeagueConfig

    assert shard_sizes(10, 3) == [4, 3, 3] and sum(shard_sizes(256, 7)) == 256
    with pytest.raises(ValueError, match="--games 2 is fewer than --workers 3"):
        League(LeagueConfig(dir=tmp_path, ray="local", games=2, workers=3))
    with pytest.raises(ValueError, match="--workers must be at least 1"):
        shard_sizes(8, 0)


def test_weights_go_out_once_per_tensor_and_load_back_whole(tmp_path):
    from exphil_agents.league.remote import driver_env, packed_weights, unpacked_weights
    from exphil_agents.league.train import LeagueConfig
    from exphil_agents.policies import BackbonePolicy
    from melee_envs.obs import ObsConfig

    env = driver_env(LeagueConfig(games=4, game=GameSettings()), ObsConfig())
    assert env.num_envs == 4 and env.reset().shape == (4, *env.observation_space.shape)
    with pytest.raises(RuntimeError, match="played by the remote workers"):
        env.step(np.zeros((4, len(env.action_space.nvec)), np.int64))

    def policy():
        return BackbonePolicy(env.observation_space, env.action_space, lambda _: 3e-4)

    source, target = policy(), policy()
    packed = packed_weights(source)
    full = source.state_dict()
    assert packed["aliases"] and set(packed["tensors"]) | set(packed["aliases"]) == set(full)
    sent = sum(t.numel() for t in packed["tensors"].values())
    assert sent == sum(p.numel() for p in source.parameters())  # every parameter once, not three times
    target.load_state_dict(unpacked_weights(packed))
    assert all(torch.equal(a, b) for a, b in zip(source.parameters(), target.parameters(), strict=True))


def test_a_worker_keeps_one_network_per_learner(tmp_path):
    """A worker whose first rollout is an exploiter's meets the main agent as an opponent before
    it plays the main agent's own games; both must be the same network, so that the exploiter's
    games see every weight update of the main agent (a worker started mid-run does this)."""
    from exphil_agents.league.remote import RolloutWorker, driver_env, packed_weights
    from exphil_agents.league.train import League, LeagueConfig

    cfg = LeagueConfig(dir=tmp_path, games=2, n_steps=8, batch_size=16, main_exploiters=1, tensorboard=False,
                       game=GameSettings(time_limit_minutes=0.05))  # fmt: skip
    league = League(cfg)
    stand_in = driver_env(cfg, league.obs_config)
    for learner in league.roles:
        league.load_or_create(learner, env=stand_in)
    main = league.models["main-0"]
    worker = RolloutWorker(cfg, league.obs_config, (main.policy_class, dict(main.policy_kwargs)), list(league.roles),
                           shard=0, generation=0, games=2)  # fmt: skip
    weights = {name: packed_weights(model.policy) for name, model in league.models.items()}
    worker.collect("main_exploiter-0", 0, weights, (["self:main-0"], [1.0]), {})
    worker.collect("main-0", 0, weights, (["bot:idle"], [1.0]), {})
    opponent = worker._models["main_exploiter-0"].env.player("self:main-0")
    assert opponent.frame_network.module is worker._models["main-0"].policy
    with torch.no_grad():
        for p in main.policy.parameters():
            p.add_(1.0)
    worker.collect("main-0", 8, {"main-0": packed_weights(main.policy)}, (["bot:idle"], [1.0]), {})
    played = dict(opponent.frame_network.module.named_parameters())
    assert all(torch.equal(played[n], p) for n, p in main.policy.named_parameters())  # the update reached it
    worker.close()
    league.state.close()
