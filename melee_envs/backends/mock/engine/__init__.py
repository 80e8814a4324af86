"""The mock engine: Numba code that steps 1v1 Melee games held in arrays, one frame per call.

State lives in :class:`~melee_envs.state.PackedState` arrays plus two engine-private arrays
(``ei`` ints, ``ef`` floats, per player; ``xs`` per projectile slot), which every function takes together as one
:data:`~.schema.Games` named tuple (``G.pi``, ``G.stage``). Ids are the game's (libmelee ``Action`` values). What is
modelled and what is approximated is listed in ``docs/mock-engine.md``; how the modules fit
together in ``docs/architecture.md``.

Modules, lowest first (each imports only those above it):

* :mod:`.tables`: the constant arrays (characters, moves, stages), loaded from ``melee_envs.data``.
* :mod:`.schema`: state and table columns, move indices, action ids, button bits.
* :mod:`.rules`: the game's constants.
* :mod:`.states`: entering actions and moves; which actions shield, hold or time out.
* :mod:`.specials`: the B button's specials and the up-B recoveries' phases.
* :mod:`.controls`: one frame's controller read into presses, taps and held inputs.
* :mod:`.physics`: motion through the stage, landing, ledges.
* :mod:`.combat`: hits (judged together, then applied), knockback, stale moves, shields, catching a grab.
* :mod:`.grabs`: the grabber holding, throwing and letting go.
* :mod:`.counters`: Marth's and Roy's Counter negating and answering a hit.
* :mod:`.projectiles`: projectiles fired, flying, hitting and reflected.
* :mod:`.ledge`: getting up, rolling and attacking from the ledge (quick or slow).
* :mod:`.movement`: an actionable player's inputs on the ground, in shield, in the air.
* :mod:`.lifecycle`: starts, blast zones, respawns, the winner, loading a state.
* :mod:`.player`: one player's frame (controller, timers, then the parts above).
* :mod:`.frame`: one game's frame.
* :mod:`.entries`: what Python calls, cached under :data:`.sources.SALT`.
"""

from melee_envs.backends.mock.engine.entries import derive_engine_state, reset_games, step_games
from melee_envs.backends.mock.engine.frame import step_game
from melee_envs.backends.mock.engine.lifecycle import empty_engine_arrays, mix64, reset_game
from melee_envs.backends.mock.engine.schema import Games
from melee_envs.backends.mock.engine.sources import SALT, source_salt
from melee_envs.backends.mock.engine.tables import KernelTables, Tables, tables

__all__ = [
    "SALT",
    "Games",
    "KernelTables",
    "Tables",
    "derive_engine_state",
    "empty_engine_arrays",
    "mix64",
    "reset_game",
    "reset_games",
    "source_salt",
    "step_game",
    "step_games",
    "tables",
]
