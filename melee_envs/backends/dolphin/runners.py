"""Running a policy on Dolphin: lock-step or real time, and several instances at once.

* :func:`run_sync`: one backend step per frame (with ``blocking_input`` Dolphin waits for each
  input), optional action repeat. The policy is never late; the game runs at the policy's pace.
* :func:`run_async`: the emulator is never waited for: a reader thread takes every frame as it
  arrives and sends the newest action the policy has produced; the policy works on the newest
  state. A frame sent with an action computed from an older state than the one just before it is
  *late*; late frames are counted.
* :func:`dolphin_vec_env`: N Dolphin ``Melee-v0`` envs in subprocesses (SB3 ``SubprocVecEnv``),
  each with its own Slippi port and its own temporary user directory.

A *policy* takes the ``GameState`` of the current frame (batch shape ``(1,)``) and returns
actions ``(2, ACTION_SIZE)`` for players 0 and 1 (ports that are not ``bot`` ignore theirs);
:func:`agent_policy` turns an :class:`~exphil_agents.agent.Agent`-like object into one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from melee_envs.backends.dolphin.backend import DolphinBackend
from melee_envs.backends.dolphin.config import DolphinConfig
from melee_envs.obs import ObsConfig, ObservationEncoder
from melee_envs.state import GameState

Policy = Callable[[GameState], np.ndarray]


@dataclass
class RunStats:
    """What a run did: frames played, frames sent late, wall time, and the game's end."""

    frames: int = 0
    late_frames: int = 0
    decisions: int = 0
    seconds: float = 0.0
    done: bool = False
    winner: int = -1

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        late = f"{self.late_frames} late ({100 * self.late_frames / max(self.frames, 1):.1f}%)"
        end = f"winner: player {self.winner}" if self.winner >= 0 else ("no winner" if self.done else "not finished")
        return f"{self.frames} frames in {self.seconds:.1f} s ({self.fps:.1f} fps), {late}; {end}"


def agent_policy(agent: Any, player: int = 0, obs_config: ObsConfig | None = None) -> Policy:
    """A policy that plays ``player`` with ``agent.act(observation)`` (noop for the other)."""
    encoder = ObservationEncoder(obs_config or ObsConfig())
    noop = agent.codec.noop()

    def policy(state: GameState) -> np.ndarray:
        actions = np.stack([noop, noop])
        actions[player] = agent.act(encoder.encode(state, player)[0])
        return actions

    return policy


def run_sync(
    backend: DolphinBackend, policy: Policy, action_repeat: int = 1, max_frames: int | None = None
) -> RunStats:
    """Play one game in lock-step (the policy decides every ``action_repeat`` frames)."""
    if action_repeat < 1:
        raise ValueError(f"action_repeat must be >= 1; got {action_repeat}")
    stats = RunStats()
    start = time.perf_counter()
    state = backend.reset()
    actions = None
    while not backend.done[0] and (max_frames is None or stats.frames < max_frames):
        if stats.frames % action_repeat == 0:
            actions = policy(state)
            stats.decisions += 1
        state = backend.step(np.asarray(actions)[None])
        stats.frames += 1
    stats.seconds = time.perf_counter() - start
    stats.done, stats.winner = bool(backend.done[0]), int(backend.winner[0])
    return stats


def run_async(backend: DolphinBackend, policy: Policy, max_frames: int | None = None) -> RunStats:
    """Play one game at the emulator's pace; the policy acts on the newest state it can get."""
    stats = RunStats()
    lock = threading.Condition()
    shared: dict[str, Any] = {"state": None, "frame": -1, "actions": None, "for_frame": -2, "stop": False}
    error: list[BaseException] = []

    def think() -> None:
        seen = -1
        while True:
            with lock:
                lock.wait_for(lambda seen=seen: shared["stop"] or shared["frame"] > seen)
                if shared["stop"]:
                    return
                state, seen = shared["state"], shared["frame"]
            try:
                actions = policy(state)
            except BaseException as exc:  # noqa: BLE001 - reported by the main loop
                error.append(exc)
                with lock:
                    shared["stop"] = True
                return
            with lock:
                shared["actions"], shared["for_frame"] = actions, seen
                stats.decisions += 1

    start = time.perf_counter()
    state = backend.reset()
    noop = np.stack([backend.codec.noop()] * 2)
    thinker = threading.Thread(target=think, daemon=True)
    with lock:
        shared.update(state=state.copy(), frame=0)
        lock.notify_all()
    thinker.start()
    try:
        while not backend.done[0] and (max_frames is None or stats.frames < max_frames) and not error:
            with lock:
                actions, for_frame = shared["actions"], shared["for_frame"]
            if for_frame < stats.frames:  # not decided on the frame just shown
                stats.late_frames += 1
            state = backend.step((noop if actions is None else np.asarray(actions))[None])
            stats.frames += 1
            with lock:
                shared.update(state=state.copy(), frame=stats.frames)
                lock.notify_all()
    finally:
        with lock:
            shared["stop"] = True
            lock.notify_all()
        thinker.join(5)
    if error:
        raise error[0]
    stats.seconds = time.perf_counter() - start
    stats.done, stats.winner = bool(backend.done[0]), int(backend.winner[0])
    return stats


def dolphin_vec_env(n: int, config: DolphinConfig, start_method: str | None = None, **env_kwargs: Any) -> Any:
    """``n`` ``Melee-v0`` envs on Dolphin in subprocesses: instance ``i`` listens on
    ``config.slippi_port + i`` and gets its own temporary user directory."""
    from stable_baselines3.common.vec_env import SubprocVecEnv

    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    if config.user_dir is not None and n > 1:
        raise ValueError("several instances cannot share one user_dir; leave it unset (a temporary one each)")

    def make(i: int) -> Callable[[], Any]:
        def build() -> Any:
            import multiprocessing

            import gymnasium as gym

            import melee_envs  # noqa: F401

            # SubprocVecEnv's workers are daemonic, and libmelee receives frames in a child
            # process of its own, which daemonic processes may not start. The env's close()
            # (sent by SubprocVecEnv.close) stops that child and Dolphin.
            multiprocessing.current_process().daemon = False
            dolphin = replace(config, slippi_port=config.slippi_port + i)
            fields = {f: getattr(dolphin, f) for f in dolphin.__dataclass_fields__}
            return gym.make("Melee-v0", backend="dolphin", dolphin=fields, **env_kwargs)

        return build

    return SubprocVecEnv([make(i) for i in range(n)], start_method=start_method)
