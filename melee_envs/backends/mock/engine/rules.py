"""Constants of the game (SSBWiki "Knockback", "Hitstun", "Landing lag", "Shield", "Air dodge",
"Wavedash", "Tech" for Melee) and the knockback formula. Values marked "approx." are the engine's
simplifications."""

from __future__ import annotations

import numba

KB_DECAY = 0.051
#: How far from a surface's height a grounded player may stand and still be on it. The engine's
#: ground is flat at y = 0, but replays put it at y = 0.0089 on Dream Land and 0.0029 on Fountain
#: of Dreams (measured on the shared replays): at the old 0.001 a state loaded there fell through.
#: Yoshi's Story's sloped edges (down to y = -1) are not modelled (approx.).
SURFACE_TOLERANCE = 0.05
KB_SPEED = 0.03
HITSTUN_PER_KB = 0.4
TUMBLE_KB = 80.0
NORMAL_LANDING_LAG = 4
#: After its lag an idle normal landing keeps ``LANDING`` until its animation's end (the shared
#: replays: 30 frames, then ``STANDING``); any input acts from the lag's end as before.
LANDING_FRAMES = 30
LCANCEL_WINDOW = 7
TECH_WINDOW = 20
TECH_FRAMES = 26
TECH_INTANGIBLE = 20
TECH_ROLL_FRAMES = 40
MISSED_TECH_FRAMES = 26
DEAD_FRAMES = 60
HALO_MAX_FRAMES = 150
RESPAWN_INVULN = 120
#: A respawn first descends onto the halo: 60 frames (``ON_HALO_DESCENT``) from 65.8 units above
#: it at a steady 1.097 units a frame (the shared replays: every descent lasts 60 frames).
HALO_DESCENT_FRAMES = 60
#: A platform drop plays PLATFORM_DROP for 29 action frames before falling (the shared replays).
PLATFORM_DROP_FRAMES = 29
HALO_DESCENT_RISE = 65.8
LEDGE_INVULN = 30
#: A falling player catches the ledge from this far below to this far above its hanging height
#: (measured: the frame before each of 60 ledge catches on the shared replays lies 1.5 below to
#: 15.6 above the catching character's hanging height).
LEDGE_GRAB_BELOW, LEDGE_GRAB_ABOVE = 2.0, 16.0
LEDGE_COOLDOWN = 30
#: Ledge options: the slow ones at this percent or more (SSBWiki "Ledge"); intangible for their
#: first (quick, slow) frames (approx.).
LEDGE_SLOW_PERCENT = 100.0
LEDGE_OPTION_INTANGIBLE = (30, 50)
CATCH_FRAMES = 7
#: Knockback DI: the stick held on the last frozen frame of hitlag turns an airborne launch by
#: DI_MAX_DEG x p x |p| degrees, p the stick's component perpendicular to the launch (fits 96% of
#: the shared replays' airborne launches within 0.5 degrees; grounded launches were not turned).
DI_MAX_DEG = 18.0
#: Smash DI: on a frozen frame after the first, a new stick input (magnitude >= SDI_STICK, from a
#: weaker stick or newly pushed past SDI_AXIS on an axis) shifts the player SDI_DISTANCE x stick;
#: automatic SDI: as the freeze ends, ASDI_DISTANCE x the last frozen frame's stick (the C-stick's
#: when pushed). Measured on the shared replays that record hitlag (Slippi 3.8+): 53 of 55 SDI
#: shifts predicted with 4 false ones; ASDI 3.0 x stick (median) on 163 of 180 launches.
SDI_STICK = 0.7
SDI_AXIS = 0.25
SDI_DISTANCE = 6.0
ASDI_DISTANCE = 3.0
STICK_TAP = 0.8
#: Fast fall: falling (or at the apex) with the stick below -0.6625 that went down there within the
#: last FASTFALL_WINDOW frames (the shared replays' fast falls: the stick down 1 frame 228 times,
#: 2 frames 58, 3 frames 33, 4 frames 4; SSBWiki "Fast fall" gives the threshold).
FASTFALL_STICK = 0.6625
FASTFALL_WINDOW = 4
STICK_DEAD = 0.3
SHIELD_MAX = 60.0
SHIELD_DECAY = 0.28  # per frame held
SHIELD_REGEN = 0.07  # per frame released
SHIELD_RELEASE_FRAMES = 15
SHIELD_THRESHOLD = 0.3  # analog press that raises the shield
SHIELD_BREAK_VY = 2.5  # approx.
SHIELD_AFTER_BREAK = 30.0
DIZZY_FRAMES = 300  # approx.
SHIELD_PUSH = 0.1  # approx.: pushback speed per point of damage
#: A hit on a shield takes this share of its damage off the shield: measured on the shared
#: replays (49 hits, median drop / damage 0.700; tests/melee_envs/test_fidelity.py).
SHIELD_DAMAGE_RATIO = 0.7
#: An up-B's charge (Fox, Falco, Pikachu...): each frame the speeds keep this share and the fall
#: speed grows by ``UPB_HOVER_FALL`` (approx.; replays show Fox sinking 2-6 units over the 42).
UPB_HOVER_DECAY = 0.8
UPB_HOVER_FALL = 0.01
#: Stale-move negation (SSBWiki "Stale-move negation", Melee): a move's damage (and so its
#: knockback) drops by 0.09 for each time it is the newest entry of its player's queue of the last
#: nine moves that connected, 0.08 for the second newest, ... 0.01 for the ninth. Hits on shields
#: do not enter the queue; a KO empties it.
STALE_FIRST, STALE_STEP = 0.09, 0.01
#: Fox's and Falco's shine (Reflector): the start lasts 3 frames (libmelee's frame data for
#: actions 360 / 365), after which a jump cancels it; held B loops it; on release its end lasts 18
#: frames (the air end's run length in the shared replays, 7 of 7 seen).
SHINE_START_FRAMES = 3
SHINE_END_FRAMES = 18
#: In the air the start holds the height; after it the fall speed grows by this much a frame
#: (replays: Fox and Falco's y change during 366 and 368 grows by 0.0267 a frame, median; the start
#: 365 moves 0 in 335 of its frames).
SHINE_AIR_FALL = 0.0267
#: Fox's and Falco's Blaster phases (the shared replays): the start lasts 6 frames on the ground
#: and 4 in the air, the end 24 and 22; the loop is what lies between (the move's total frames).
LASER_START_FRAMES = (6, 4)
LASER_END_FRAMES = (24, 22)
#: A grounded jump takes off with JUMP_GROUND_CARRY x the ground speed plus JUMP_STICK_X x the
#: stick, up to the character's ``jump_h_max`` (least squares on the shared replays' take-offs
#: below the cap: Captain Falcon 0.96/0.70, Falco 1.11/0.65, Peach 0.80/0.65, Popo 0.84/0.49).
JUMP_GROUND_CARRY = 0.9
JUMP_STICK_X = 0.65
#: A held dash speeds up from its initial speed toward the run speed by this much a frame (approx.:
#: the shared replays show Fox 0.12, Marth 0.06, Captain Falcon 0.16); one whose initial speed is
#: above its run speed slows by friction (Falco's 1.9 to 1.5 in 0.08 steps).
DASH_ACCEL = 0.1
#: Marth's and Roy's counterattack: the game's ids (ground, air) and how long the swing lasts
#: and keeps them intangible (approx.; SSBWiki "Counter": invincible for the retaliating swing).
COUNTER_HIT_GROUND, COUNTER_HIT_AIR = 370, 372
COUNTER_SWING_FRAMES = 30  # approx.
#: A projectile a counter deflects flies off behind and upward at about 30 degrees (SSBWiki "Counter").
COUNTER_DEFLECT_DEG = 30.0
AIRDODGE_SPEED = 3.1
AIRDODGE_DECAY = 0.9
AIRDODGE_DRIFT_END = 30
LANDING_SPECIAL_FRAMES = 10
GRAB_HOLD_BASE = 90  # approx.: frames a grab holds, plus GRAB_HOLD_PER_PCT x percent
GRAB_HOLD_PER_PCT = 1.0
GRAB_BREAK_FRAMES = 30
GRAB_DISTANCE = 8.0
#: Air drift: each frame the stick adds ``stick_x x (air_mobility - B) + sign(stick_x) x B`` to
#: the horizontal air speed (libmelee's ``AirMobility`` is the full-stick sum). B measured on the
#: shared replays: a least-squares fit of the speed change on stick and sign, over airborne frames
#: below the speed cap, gives B = 0.020 for Bowser, Ice Climbers, Yoshi and Marth.
AIR_MOBILITY_B = 0.02


@numba.njit(_nrt=False)
def knockback(percent_after, damage, weight, bkb, kbg, skb):
    """Melee's knockback (SSBWiki "Knockback"): percent after the hit, the hit's damage, the
    defender's weight, base knockback, growth and set knockback (weight-independent when set)."""
    if skb > 0:
        percent_after = 10.0
        damage = skb
    return (
        (percent_after / 10.0 + percent_after * damage / 20.0) * 200.0 / (weight + 100.0) * 1.4 + 18.0
    ) * kbg / 100.0 + bkb
