"""Where the engine keeps things: the games' arrays, packed and engine-private state columns,
character and move table columns, move indices, the game's action ids and the controller's
button bits."""

from __future__ import annotations

from collections import namedtuple

from melee_envs.backends.mock.engine.tables import CHAR_FIELDS
from melee_envs.data.actions import DAMAGE_ACTIONS, actions
from melee_envs.data.ledge import ATTACK as LEDGE_ATTACK, GETUP as LEDGE_GETUP, LEDGE_ACTIONS, ROLL as LEDGE_ROLL  # noqa: F401
from melee_envs.data.moves import ENGINE_MOVES, MOVE_FIELDS, MOVE_INDEX
from melee_envs.data.projectiles import GROUND_BOUNCE, GROUND_PASS, GROUND_VANISH, PROJECTILE_KIND_FIELDS  # noqa: F401
from melee_envs.data.recoveries import RECOVERY_FIELDS, STEER_ANGLE, STEER_NONE, STEER_RISE  # noqa: F401
from melee_envs.state import (
    PLAYER_BOOL_COLUMNS as PB,
    PLAYER_FLOAT_COLUMNS as PF,
    PLAYER_INT_COLUMNS as PI,
    PROJ_FLOAT_COLUMNS as JF,
    PROJ_INT_COLUMNS as JI,
)

#: Every array of a batch of games, as the engine's functions take it (Numba passes a named tuple
#: of arrays as one value): the packed player columns ``pi``, ``pf``, ``pb`` of
#: :class:`~melee_envs.state.PackedState` (``[game, player, 0, column]``), the engine-private
#: ``ei``, ``ef`` (``[game, player, EI_*/EF_*]``), and per game its ``stage`` id, ``frame`` count,
#: ``done`` flag and ``winner`` (port, or -1); the projectile slots ``ji``, ``jf``, ``jb``
#: (``[game, slot, column]``) and their engine-private ``xs`` (``[game, slot, XS_*]``).
Games = namedtuple("Games", "pi pf pb ei ef stage frame done winner ji jf jb xs")

_A = actions()
DEAD_DOWN, DEAD_LEFT, DEAD_RIGHT, DEAD_UP = (_A[n] for n in ("DEAD_DOWN", "DEAD_LEFT", "DEAD_RIGHT", "DEAD_UP"))
ON_HALO_WAIT, STANDING, WALK_SLOW, WALK_MIDDLE, WALK_FAST = (
    _A[n] for n in ("ON_HALO_WAIT", "STANDING", "WALK_SLOW", "WALK_MIDDLE", "WALK_FAST")
)
ON_HALO_DESCENT = _A["ON_HALO_DESCENT"]
PLATFORM_DROP = _A["PLATFORM_DROP"]
#: Damage animations DAMAGE_AIR_1 .. DAMAGE_FLY_ROLL (ids in this order), and the action frame on
#: which a player whose hitstun is over leaves each (to TUMBLING after a tumble, else FALLING):
#: one past the last action frame the shared replays' players showed in it when nothing cut it short.
DAMAGE_AIR_FIRST = _A["DAMAGE_AIR_1"]
DAMAGE_ANIMATION_FRAMES = (12, 24, 30, 30, 30, 30, 60, 13)  # AIR_1..3, FLY_HIGH, NEUTRAL, LOW, TOP, ROLL
TURNING, DASHING, RUNNING, KNEE_BEND = (_A[n] for n in ("TURNING", "DASHING", "RUNNING", "KNEE_BEND"))
JUMPING_FORWARD, JUMPING_BACKWARD, JUMPING_ARIAL_FORWARD, JUMPING_ARIAL_BACKWARD = (
    _A[n] for n in ("JUMPING_FORWARD", "JUMPING_BACKWARD", "JUMPING_ARIAL_FORWARD", "JUMPING_ARIAL_BACKWARD")
)
FALLING, TUMBLING, CROUCHING, LANDING = (_A[n] for n in ("FALLING", "TUMBLING", "CROUCHING", "LANDING"))
NAIR_LANDING, LANDING_SPECIAL, SPECIAL_FALL = _A["NAIR_LANDING"], _A["LANDING_SPECIAL"], _A["SPECIAL_FALL_FORWARD"]
DAMAGE_NEUTRAL_1, DAMAGE_AIR_1, DAMAGE_FLY_NEUTRAL = (
    _A[n] for n in ("DAMAGE_NEUTRAL_1", "DAMAGE_AIR_1", "DAMAGE_FLY_NEUTRAL")
)
DAMAGE_FLY_HIGH, DAMAGE_FLY_ROLL = _A["DAMAGE_FLY_HIGH"], _A["DAMAGE_FLY_ROLL"]
DAMAGE_FIRST, DAMAGE_LAST = DAMAGE_ACTIONS  # every damage action: DAMAGE_HIGH_1 .. DAMAGE_FLY_ROLL
LYING = _A["LYING_GROUND_UP"]
NEUTRAL_TECH, FORWARD_TECH, BACKWARD_TECH = _A["NEUTRAL_TECH"], _A["FORWARD_TECH"], _A["BACKWARD_TECH"]
EDGE_CATCHING, EDGE_HANGING, EDGE_GETUP_QUICK, EDGE_JUMP_1_QUICK = (
    _A[n] for n in ("EDGE_CATCHING", "EDGE_HANGING", "EDGE_GETUP_QUICK", "EDGE_JUMP_1_QUICK")
)
SHIELD_START, SHIELD, SHIELD_RELEASE, SHIELD_STUN = (
    _A[n] for n in ("SHIELD_START", "SHIELD", "SHIELD_RELEASE", "SHIELD_STUN")
)
SHIELD_BREAK_FLY, SHIELD_BREAK_TEETER = _A["SHIELD_BREAK_FLY"], _A["SHIELD_BREAK_TEETER"]
GRAB_WAIT, GRAB_BREAK, GRABBED, GRAB_ESCAPE = (_A[n] for n in ("GRAB_WAIT", "GRAB_BREAK", "GRABBED", "GRAB_ESCAPE"))
THROWN_FORWARD = _A["THROWN_FORWARD"]  # THROWN_BACK/UP/DOWN follow in the game's order
#: Fox's and Falco's shine: ground start, loop (+1) and end (+3); the air ones from SHINE_AIR.
SHINE_GROUND, SHINE_AIR = 0x168, 0x16D
#: Fox's and Falco's Blaster: start, loop (+1), end (+2), on the ground and in the air.
LASER_GROUND, LASER_AIR = 0x155, 0x158
#: The ledge options' ids run from here in melee_envs.data.ledge.LEDGE_ACTIONS order.
EDGE_OPTIONS = _A["EDGE_GETUP_SLOW"]
# Packed column indices.
P_CHAR, P_ACTION, P_STOCKS, P_JUMPS = (PI.index(n) for n in ("character", "action", "stocks", "jumps_left"))
P_X, P_Y, P_PCT, P_FACE, P_AFRAME, P_SHIELD, P_HITSTUN, P_HITLAG = (
    PF.index(n) for n in ("x", "y", "percent", "facing", "action_frame", "shield", "hitstun", "hitlag")
)
P_VAIR, P_VY, P_VGROUND, P_KBX, P_KBY, P_LEDGE = (
    PF.index(n)
    for n in ("speed_air_x", "speed_y", "speed_ground_x", "speed_attack_x", "speed_attack_y", "ledge_distance")
)
P_MAIN_X = PF.index("main_x")
P_EXISTS, P_GROUND, P_INVULN = (PB.index(n) for n in ("exists", "on_ground", "invulnerable"))
P_BUTTON0 = PB.index("button_A")
# Engine-private columns.
(
    EI_MOVE,
    EI_HIT,
    EI_TIMER,
    EI_DROP,
    EI_LEDGE_CD,
    EI_FASTFALL,
    EI_LCANCEL,
    EI_TUMBLE,
    EI_PREV_BUTTONS,
    EI_INVULN,
    EI_SHOULDER_AGO,
    EI_AIRDODGED,
    EI_UPB,
    EI_STALE_ON,
    EI_DOWN_AGO,
) = range(15)
#: ``EI_DOWN_AGO``: frames since the stick went down past the fast-fall threshold (0 on that
#: frame, 255 while it is not down).
#: ``EI_QUEUE .. EI_QUEUE + STALE_QUEUE - 1``: the last moves that connected, newest first (move
#: index + 1; 0 = empty), for stale-move negation while ``EI_STALE_ON``.
EI_QUEUE = 15
STALE_QUEUE = 9
NUM_EI = EI_QUEUE + STALE_QUEUE
#: ``EI_UPB``: the phase of an up-B in progress (while ``EI_MOVE`` is ``UPB``).
UPB_START, UPB_TRAVEL = 1, 2
#: ``EF_DIR_X/Y``: the direction of an angled up-B's travel (unit vector), chosen as it starts.
EF_PREV_SX, EF_PREV_SY, EF_PREV_CX, EF_PREV_CY, EF_PREV_SHOULDER, EF_DIR_X, EF_DIR_Y = range(7)
NUM_EF = 7
# Projectile slot columns: packed, then engine-private (frames left to live, damage multiplier).
J_TYPE, J_OWNER = JI.index("type"), JI.index("owner")
J_X, J_Y, J_VX, J_VY = (JF.index(n) for n in ("x", "y", "speed_x", "speed_y"))
XS_LIFE, XS_SCALE = range(2)
NUM_XS = 2
(
    K_TYPE,
    K_SPAWN_FRAME,
    K_SPAWN_X,
    K_SPAWN_Y,
    K_SPEED_X,
    K_SPEED_Y,
    K_GRAVITY,
    K_ACCEL_X,
    K_LIFETIME,
    K_RADIUS,
    K_GROUND,
    K_SPAWN_AIR,
    K_MOVE,
) = range(len(PROJECTILE_KIND_FIELDS))
# Character attribute and move columns.
C = {n: i for i, n in enumerate(CHAR_FIELDS)}
(
    C_WEIGHT,
    C_GRAV,
    C_TERM,
    C_FF,
    C_WALK,
    C_DASH,
    C_RUN,
    C_DASHF,
    C_SQUAT,
    C_FH,
    C_SH,
    C_DJ,
    C_DJX,
    C_AIRSPD,
    C_AIRMOB,
    C_AIRFRIC,
    C_FRIC,
    C_XJUMPS,
    C_SIZE,
    C_HANG_Y,
    C_JUMP_H,
    C_LAND_DEPTH,
) = (C[n] for n in CHAR_FIELDS)
M = {n: i for i, n in enumerate(MOVE_FIELDS)}
(
    M_ACTION,
    M_TOTAL,
    M_START,
    M_END,
    M_IASA,
    M_HBX,
    M_HBY,
    M_HBR,
    M_DMG,
    M_ANGLE,
    M_BKB,
    M_KBG,
    M_SKB,
    M_HITLAG,
    M_SSTUN,
    M_LAND,
    M_LCANCEL,
) = (M[n] for n in MOVE_FIELDS)
(
    JAB,
    FTILT,
    UTILT,
    DTILT,
    FSMASH,
    USMASH,
    DSMASH,
    DATTACK,
    NAIR,
    FAIR,
    BAIR,
    UAIR,
    DAIR,
    NEUTRALB,
    SIDEB,
    UPB,
    DOWNB,
    EDGE_ATTACK,
    EDGE_ATTACK_SLOW_MOVE,
    GRAB,
    FTHROW,
    BTHROW,
    UTHROW,
    DTHROW,
    SPOTDODGE,
    ROLL_F,
    ROLL_B,
    AIRDODGE,
) = (MOVE_INDEX[n] for n, _ in ENGINE_MOVES)
# Up-B columns (melee_envs.data.recoveries.RECOVERY_FIELDS).
R_GROUND, R_AIR, R_START, R_TRAVEL, R_FRAMES, R_STEER, R_HELPLESS = (RECOVERY_FIELDS.index(n) for n in RECOVERY_FIELDS)
BUTTON_A, BUTTON_B, BUTTON_X, BUTTON_Y, BUTTON_Z, BUTTON_L, BUTTON_R = 0, 1, 2, 3, 4, 5, 6
SHOULDER_BITS = (1 << BUTTON_L) | (1 << BUTTON_R)
