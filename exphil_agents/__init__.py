"""Agents for the Melee environments: backbones, BC networks, SB3 policies, actors (everything that
plays, :mod:`exphil_agents.actors`), PPO training, and the self-play league with tournaments."""
