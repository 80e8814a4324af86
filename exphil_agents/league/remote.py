"""``exphil league train --ray ADDRESS``: the league's games played by rollout workers on a Ray
cluster, its learning, history, snapshots and ratings kept by the driver.

Each worker is a Ray actor holding a shard of the learner's games (a
:class:`~exphil_agents.league.selfplay.LeagueVecEnv` of its own) and a copy of the learner's
network. One PPO rollout is one call per worker: the driver puts the learners' current weights in
the object store once, and sends every worker the opponent menu (who a new game may be against
and the chance of each, from the league's ratings, as :meth:`League.opponent_menu` gives it); each
worker plays ``n_steps`` decisions of its games, the learner's and the opponents' inference
included, and returns its columns of the rollout buffer (observations, actions, rewards, values,
log-probabilities, returns and advantages, computed by SB3's own ``collect_rollouts``) with the
games that finished. The driver stitches the columns along the game axis, records the finished
games in the history (shard by shard, in the order they ended) and runs PPO's update. Snapshots
reach the workers through the object store too (read once, fetched by a worker the first time it
draws one), so no worker needs the driver's disk.

Every recorded game carries an id ``shard.generation.serial``. A worker that dies mid-rollout (its
process killed, its node lost) returns nothing: none of that rollout's games from it are recorded.
A new worker takes the shard (``generation`` + 1, fresh games on a seed of their own) and plays
the shard's part of the rollout again with the same weights. So every game in the history was
played once and recorded once; the update always sees the full batch.

What a worker plays depends only on the seed, its shard, its generation and the learner's step
(never on timing), so a league on the same cluster shape reproduces.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from exphil_agents.league.state import BOT_PREFIX, SELF_PREFIX

#: Buffer columns a worker returns, in the driver's rollout buffer's names.
COLUMNS = ("observations", "actions", "rewards", "returns", "episode_starts", "values", "log_probs", "advantages")
#: Times one shard's part of a rollout is played again after its worker died before giving up.
MAX_REPLAYS = 3


def shard_sizes(games: int, workers: int) -> list[int]:
    """``games`` split over ``workers`` as evenly as possible (the first ones take the remainder)."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1; got {workers}")
    if games < workers:
        raise ValueError(f"--games {games} is fewer than --workers {workers}: every worker needs a game")
    return [games // workers + (i < games % workers) for i in range(workers)]


def packed_weights(policy: Any) -> dict[str, Any]:
    """A policy's weights with every tensor once: SB3 lists one shared features extractor under
    three names, which would triple what is sent (9.6 MB instead of 3.3 for the league's MLP)."""
    tensors: dict[str, Any] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple, str] = {}
    for name, tensor in policy.state_dict().items():
        key = (tensor.data_ptr(), tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype)
        if tensor.numel() and key in seen:
            aliases[name] = seen[key]
        else:
            seen[key] = name
            tensors[name] = tensor
    return {"tensors": tensors, "aliases": aliases}


def unpacked_weights(packed: dict[str, Any]) -> dict[str, Any]:
    """The full state dict of :func:`packed_weights`'s result."""
    tensors = packed["tensors"]
    return {**tensors, **{name: tensors[source] for name, source in packed["aliases"].items()}}


def derived_seed(*parts: int) -> int:
    """A 31-bit seed from integers (the same parts give the same seed on every machine)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


class SpacesOnlyVecEnv(VecEnv):
    """The driver's stand-in for the games the workers play: the learner's spaces and game count,
    so that its PPO model builds its rollout buffer; nothing is stepped here."""

    def __init__(self, num_envs: int, observation_space: Any, action_space: Any) -> None:
        super().__init__(num_envs, observation_space, action_space)

    def reset(self) -> np.ndarray:
        return np.zeros((self.num_envs, *self.observation_space.shape), self.observation_space.dtype)

    def step_async(self, actions: np.ndarray) -> None:
        raise RuntimeError("--ray: the league's games are played by the remote workers, not the driver")

    def step_wait(self) -> Any:
        raise RuntimeError("--ray: the league's games are played by the remote workers, not the driver")

    def close(self) -> None:
        pass

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        if attr_name == "render_mode":
            return [None] * self.num_envs
        raise AttributeError(f"{attr_name}: the driver holds no games")

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        raise AttributeError(f"{attr_name}: the driver holds no games")

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list[Any]:
        raise AttributeError(f"{method_name}: the driver holds no games")

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False] * self.num_envs


def driver_env(cfg: Any, obs_config: Any) -> SpacesOnlyVecEnv:
    """The stand-in env of ``cfg.games`` games with the learners' spaces."""
    from melee_envs.envs.vector import MeleeVectorEnv

    kwargs = {**cfg.game.env_kwargs(), "frame_skip": cfg.frame_skip, "obs": obs_config}
    probe = MeleeVectorEnv(2, mode="self_play", mirror=True, **kwargs)
    spaces = probe.single_observation_space, probe.single_action_space
    probe.close()
    return SpacesOnlyVecEnv(cfg.games, *spaces)


class _Finished(BaseCallback):
    """Collects the games that end during a worker's rollout, each with its id."""

    def __init__(self, worker: RolloutWorker) -> None:
        super().__init__()
        self.worker = worker
        self.games: list[dict[str, Any]] = []

    def _on_step(self) -> bool:
        t = int(self.locals["n_steps"])
        for info in self.locals["infos"]:
            if "league_opponent" in info:
                self.games.append(
                    {
                        "t": t,
                        "league_opponent": info["league_opponent"],
                        "league_game": self.worker.next_game_id(),
                        "melee": info["melee"],
                        **({"episode": info["episode"]} if "episode" in info else {}),
                    }
                )
        return True


class RolloutWorker:
    """One shard of the league's games (a Ray actor: ``ray.remote(RolloutWorker)``).

    Args:
        cfg: the league's :class:`~exphil_agents.league.train.LeagueConfig`.
        obs_config: the learners' observation layout.
        policy: ``(policy class, policy kwargs)`` of the learners' networks.
        learners: the league's learner ids, in order.
        shard, generation, games: which shard this is, how many workers held it before, and
            how many games it plays.
    """

    def __init__(
        self,
        cfg: Any,
        obs_config: Any,
        policy: tuple[type, dict[str, Any]],
        learners: list[str],
        shard: int,
        generation: int,
        games: int,
    ) -> None:
        from melee_envs.threads import training_threads

        training_threads("rl")  # one torch thread: this process takes turns between env and network
        self.cfg, self.obs_config, self.policy_spec = cfg, obs_config, policy
        self.learners, self.shard, self.generation, self.games = learners, shard, generation, games
        self._models: dict[str, Any] = {}  # learner -> PPO over this shard's games
        self._policies: dict[str, Any] = {}  # learner -> its network here (self-play opponents too)
        self._menu: tuple[list[str], np.ndarray] = ([], np.zeros(0))
        self._rng = np.random.default_rng(0)
        self._blobs: dict[str, Any] = {}
        self._unusable: list[tuple[str, str]] = []
        self._bots: dict[str, Any] = {}
        self._serial = 0
        self._dir = Path(tempfile.mkdtemp(prefix=f"exphil-league-shard{shard}-"))

    def pid(self) -> int:
        return os.getpid()

    def next_game_id(self) -> str:
        self._serial += 1
        return f"{self.shard}.{self.generation}.{self._serial - 1}"

    def collect(
        self,
        learner: str,
        step: int,
        weights: dict[str, dict[str, Any]],
        menu: tuple[list[str], list[float]],
        blobs: dict[str, Any],
    ) -> dict[str, Any]:
        """Play ``n_steps`` decisions of this shard's games for ``learner`` at ``step`` with these
        weights (the learner's, and those of any other learner the menu names)."""
        ids, p = menu
        self._menu = (list(ids), np.asarray(p, np.float64))
        self._blobs = blobs
        self._unusable = []
        index = self.learners.index(learner)
        self._rng = np.random.default_rng(derived_seed(self.cfg.seed, index, step, self.shard, self.generation))
        model = self._model(learner, step)  # its games start here on its first rollout, drawing from the menu
        for name, packed in weights.items():
            self._policy(name).load_state_dict(unpacked_weights(packed))
        finished = _Finished(self)
        finished.init_callback(model)
        model.collect_rollouts(model.env, finished, model.rollout_buffer, model.n_steps)
        buffer = model.rollout_buffer
        return {
            "columns": {name: getattr(buffer, name) for name in COLUMNS},
            "games": finished.games,
            "unusable": self._unusable,
        }

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- networks and games ----------------------------------------------------------------------

    def _policy(self, learner: str) -> Any:
        """The learner's network here: one object for as long as the worker lives, so that a game
        playing it as an opponent always plays its latest weights."""
        if learner not in self._policies:
            policy_class, kwargs = self.policy_spec
            spaces = next(iter(self._models.values()))  # every learner plays the same games' spaces
            self._policies[learner] = policy_class(
                spaces.observation_space, spaces.action_space, lambda _: self.cfg.learning_rate, **kwargs
            )
        return self._policies[learner]

    def _model(self, learner: str, step: int) -> Any:
        """The learner's PPO model over this shard's games (made at its first rollout here, on a
        seed of the shard, its generation and the learner's step: a resumed league or a new
        worker plays new games)."""
        if learner in self._models:
            return self._models[learner]
        from stable_baselines3 import PPO

        from exphil_agents.league.selfplay import LeagueVecEnv

        cfg = self.cfg
        seed = derived_seed(cfg.seed, self.learners.index(learner), self.shard, self.generation, step)
        env = LeagueVecEnv(
            self.games,
            sample_opponent=self._sample,
            resolve=self._resolve,
            on_unusable=self._on_unusable,
            seed=seed,
            **cfg.game.env_kwargs(),
            frame_skip=cfg.frame_skip,
            obs=self.obs_config,
        )
        policy_class, kwargs = self.policy_spec
        model = PPO(
            policy_class, env, policy_kwargs=kwargs, n_steps=cfg.n_steps, batch_size=cfg.batch_size,
            gamma=cfg.gamma, seed=seed, device="cpu", verbose=0,
        )  # fmt: skip
        self._models[learner] = model
        if learner in self._policies:  # already an opponent in another learner's games: keep that one network
            model.policy = self._policies[learner]
        else:
            self._policies[learner] = model.policy
        model._setup_learn(1, None)  # the info buffers and the games' first observations
        return model

    def _sample(self, _game: int) -> str:
        ids, p = self._menu
        unusable = {opponent for opponent, _ in self._unusable}
        keep = np.array([k not in unusable for k in ids])
        if not keep.any():
            raise RuntimeError(f"shard {self.shard}: no opponent left to draw ({self._unusable})")
        q = np.where(keep, p, 0.0)
        return ids[int(self._rng.choice(len(ids), p=q / q.sum()))]

    def _on_unusable(self, opponent: str, error: Exception) -> None:
        self._unusable.append((opponent, str(error)))

    def _resolve(self, opponent: str) -> Any:
        from exphil_agents.actors import ActorError, BotActor, load_actor, sb3_actor

        if opponent.startswith(BOT_PREFIX):
            if opponent not in self._bots:
                self._bots[opponent] = BotActor(opponent[len(BOT_PREFIX) :], self.cfg.seed)
            return self._bots[opponent]
        if opponent.startswith(SELF_PREFIX):
            learner = opponent[len(SELF_PREFIX) :]
            return sb3_actor(opponent, self._policy(learner), self.obs_config, deterministic=False, live=True)
        if opponent not in self._blobs:
            raise ActorError(f"snapshot {opponent}: not sent to this worker")
        import ray

        folder = self._dir / opponent
        if not (folder / "snapshot.json").is_file():
            try:
                files = ray.get(self._blobs[opponent])
            except Exception as exc:  # noqa: BLE001 - an object lost with its node: the snapshot is unusable here
                raise ActorError(f"snapshot {opponent}: could not be fetched ({exc})") from exc
            if files is None:
                raise ActorError(f"snapshot {opponent}: its folder on the driver could not be read")
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                (folder / name).write_bytes(data)
        return load_actor(folder)


def snapshot_files(folder: Path) -> dict[str, bytes] | None:
    """A snapshot folder's files (what a worker rebuilds it from), or None if unreadable."""
    try:
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    except OSError:
        return None


def first_generations(state: Any, workers: int) -> list[int]:
    """Each shard's first worker generation in this run: one past any in the history, so that a
    resumed league's game ids never repeat an earlier run's (and its workers play new games)."""
    top = -1
    for match in state.matches():
        try:
            _, generation, _ = (int(x) for x in str(match.get("game", "")).split("."))
        except ValueError:
            continue  # a local run's game (no id)
        top = max(top, generation)
    return [top + 1] * workers


class RemoteRollouts:
    """The driver's side: the workers, and a PPO ``learn`` whose rollouts they play."""

    def __init__(self, league: Any, workers: int) -> None:
        import ray

        self.league, self.cfg = league, league.cfg
        self.sizes = shard_sizes(self.cfg.games, workers)
        self.generations = first_generations(league.state, workers)
        self.workers: list[Any] = [None] * workers
        self.replaced = 0
        self.seconds = {"collect": 0.0, "update": 0.0}  # waiting for the workers; PPO's update here
        self._blobs: dict[str, Any] = {}
        self._actor = ray.remote(num_cpus=1, max_restarts=0)(RolloutWorker)

    def start(self, model: Any) -> None:
        """Start the workers (once the learners exist: they copy the networks' shape)."""
        spec = (model.policy_class, dict(model.policy_kwargs))
        self._spec = spec
        for shard in range(len(self.sizes)):
            self.workers[shard] = self._new_worker(shard)

    def _new_worker(self, shard: int) -> Any:
        return self._actor.remote(
            self.cfg, self.league.obs_config, self._spec, list(self.league.roles), shard, self.generations[shard],
            self.sizes[shard],
        )  # fmt: skip

    def close(self) -> None:
        """Stop the workers, each removing its snapshot copies first (a dead one cannot)."""
        import ray

        live = [worker for worker in self.workers if worker is not None]
        try:
            ray.get([worker.close.remote() for worker in live], timeout=30)
        except Exception as exc:  # noqa: BLE001 - a dead or stuck worker: its folder stays, the run still ends
            print(f"league: a rollout worker could not clean up ({type(exc).__name__})", file=sys.stderr)
        for worker in live:
            ray.kill(worker)
        self.workers = [None] * len(self.workers)

    # -- one rollout -----------------------------------------------------------------------------

    def _blob(self, snapshot: str) -> Any:
        import ray

        if snapshot not in self._blobs:
            self._blobs[snapshot] = ray.put(snapshot_files(Path(self.league.state.snapshots[snapshot]["path"])))
        return self._blobs[snapshot]

    def collect(self, learner: str, model: Any) -> list[dict[str, Any]]:
        """Every shard's part of one rollout at the learner's current weights, in shard order; a
        shard whose worker dies is played again by a new worker."""
        import ray
        from ray.exceptions import RayActorError

        ids, p = self.league.opponent_menu(learner)
        others = {i[len(SELF_PREFIX) :] for i in ids if i.startswith(SELF_PREFIX)} - {learner}
        models = self.league.models
        weights = ray.put({name: packed_weights(models[name].policy) for name in [learner, *sorted(others)]})
        blobs = {i: self._blob(i) for i in ids if i in self.league.state.snapshots}
        menu = (ids, p.tolist())
        step = int(model.num_timesteps)

        def send(shard: int) -> Any:
            return self.workers[shard].collect.remote(learner, step, weights, menu, blobs)

        pending = {send(shard): shard for shard in range(len(self.workers))}
        parts: list[dict[str, Any] | None] = [None] * len(self.workers)
        tries = [0] * len(self.workers)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            shard = pending.pop(done[0])
            try:
                parts[shard] = ray.get(done[0])
            except RayActorError as exc:
                tries[shard] += 1
                if tries[shard] > MAX_REPLAYS:
                    raise RuntimeError(
                        f"league on Ray: shard {shard}'s worker died {tries[shard]} times in one rollout ({exc}); "
                        "is a node short of memory? (ray status)"
                    ) from exc
                self.generations[shard] += 1
                self.replaced += 1
                print(
                    f"league: worker of shard {shard} died mid-rollout; its games there are not recorded, "
                    f"a new worker (generation {self.generations[shard]}) plays them again",
                    file=sys.stderr,
                )
                ray.kill(self.workers[shard])
                self.workers[shard] = self._new_worker(shard)
                pending[send(shard)] = shard
        return parts  # type: ignore[return-value]

    def learn(self, model: Any, learner: str, steps: int, callback: Any) -> None:
        """PPO's ``learn`` for ``steps`` more steps, rollouts from the workers (as SB3's own loop:
        callbacks, logs, progress and update; the games' infos reach the callbacks step by step)."""
        from exphil_agents.actors import ActorError

        total, callback = model._setup_learn(steps, callback, reset_num_timesteps=False, tb_log_name=learner)
        callback.on_training_start(locals(), globals())
        iteration = 0
        while model.num_timesteps < total:
            callback.on_rollout_start()
            start = time.perf_counter()
            parts = self.collect(learner, model)
            self.seconds["collect"] += time.perf_counter() - start
            buffer = model.rollout_buffer
            buffer.reset()
            for name in COLUMNS:
                setattr(buffer, name, np.concatenate([part["columns"][name] for part in parts], axis=1))
            buffer.pos, buffer.full = buffer.buffer_size, True
            per_step: list[list[dict[str, Any]]] = [[] for _ in range(buffer.buffer_size)]
            for part in parts:
                for game in part["games"]:
                    per_step[game["t"]].append(game)
            for infos in per_step:
                model.num_timesteps += model.n_envs
                callback.update_locals({"infos": infos})
                callback.on_step()
                model._update_info_buffer(infos)
            for part in parts:
                for opponent, why in part["unusable"]:
                    if opponent in self.league.state.snapshots:
                        self.league.retire(opponent, ActorError(why))
            callback.on_rollout_end()
            iteration += 1
            model._update_current_progress_remaining(model.num_timesteps, total)
            model.dump_logs(iteration)
            start = time.perf_counter()
            model.train()
            self.seconds["update"] += time.perf_counter() - start
        callback.on_training_end()
