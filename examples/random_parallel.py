"""Both ports play random inputs in the PettingZoo parallel env, printed as text."""

import melee_envs

env = melee_envs.parallel_env(characters=("puff", "falco"), stage="ps", render_mode="ansi", stocks=1)
observations, infos = env.reset(seed=0)
while env.agents:
    actions = {agent: env.action_space(agent).sample() for agent in env.agents}
    observations, rewards, terminations, truncations, infos = env.step(actions)
print(env.render())
print(infos)
