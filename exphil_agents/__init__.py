"""Agents for the Melee environments: SB3 training, and (in later releases) backbones and league."""
