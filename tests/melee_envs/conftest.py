import pytest


@pytest.fixture(scope="session")
def record_game():
    """A function playing one seeded 1-stock Falco-Marth game on Battlefield with Melee-v0 and
    ``record_replays``: ``(folder, seed) -> (the .slp file, info["melee"])``."""

    def play(folder, seed=2):
        import gymnasium as gym

        import melee_envs  # noqa: F401 - registers Melee-v0

        env = gym.make("Melee-v0", opponent="scripted", stocks=1, time_limit_minutes=1, record_replays=folder,
                       stage="BATTLEFIELD", characters=("FALCO", "MARTH"))  # fmt: skip
        env.action_space.seed(seed)
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            done = terminated or truncated
        env.close()
        (path,) = env.unwrapped.game.recorder.written
        return path, info["melee"]

    return play
