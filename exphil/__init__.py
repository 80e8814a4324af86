"""The ``exphil`` command: one tree built from the command registries of ``melee_envs``,
``imitation`` and ``exphil_agents`` (see :mod:`exphil.cli`)."""
