"""Train PPO in Melee-v0 against the scripted bot and save it (copy and adapt)."""

import gymnasium as gym
from stable_baselines3 import PPO

import melee_envs  # noqa: F401  (registers Melee-v0)

env = gym.make("Melee-v0", characters=("fox", "marth"), stage="bf", opponent="scripted", stocks=1)
model = PPO("MlpPolicy", env, verbose=1)
model.learn(total_timesteps=20_000)
model.save("ppo_melee")
