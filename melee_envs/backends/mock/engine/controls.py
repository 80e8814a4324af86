"""The controller as the engine reads it: one frame's action decoded, recorded into the state,
and turned into the presses, taps and held inputs the game logic asks about."""

from __future__ import annotations

from collections import namedtuple

import numba

from melee_envs.backends.mock.engine.rules import FASTFALL_STICK, SHIELD_THRESHOLD, STICK_DEAD, STICK_TAP
from melee_envs.backends.mock.engine.schema import (
    BUTTON_A,
    BUTTON_B,
    BUTTON_X,
    BUTTON_Y,
    BUTTON_Z,
    EF_PREV_CX,
    EF_PREV_CY,
    EF_PREV_SHOULDER,
    EF_PREV_SX,
    EF_PREV_SY,
    EI_DOWN_AGO,
    EI_PREV_BUTTONS,
    P_BUTTON0,
    P_MAIN_X,
    SHOULDER_BITS,
)
from melee_envs.controller import MAIN_X, NUM_BUTTONS, SHOULDER_COLUMN

#: One player's inputs this frame. Sticks in [-1, 1] (``p``: last frame's); ``buttons`` and
#: ``pressed`` are bit sets (held; newly pressed) in :mod:`.schema`'s ``BUTTON_*`` order.
Inputs = namedtuple(
    "Inputs",
    (
        "buttons", "pressed", "sx", "sy", "cx", "cy", "psx", "psy", "pcx", "pcy", "shoulder", "shoulder_press",
        "shield_held", "tapped_jump", "jump_held", "attack", "special", "grab", "c_push",
    ),
)  # fmt: skip


@numba.njit(_nrt=False, inline="always")
def read_controller(G, b, p, act, stick_centres, shoulder_levels):
    """Record player ``p``'s action ``act`` as its controller state and return its :data:`Inputs`."""
    pf, pb, ei, ef = G.pf, G.pb, G.ei, G.ef
    f = pf[b, p, 0]
    buttons = 0
    for k in range(NUM_BUTTONS):
        down = act[k] != 0
        pb[b, p, 0, P_BUTTON0 + k] = down
        if down:
            buttons |= 1 << k
    for k in range(4):
        f[P_MAIN_X + k] = stick_centres[act[MAIN_X + k]]
    shoulder = shoulder_levels[act[SHOULDER_COLUMN]]
    f[P_MAIN_X + 4] = shoulder
    prev_buttons = ei[b, p, EI_PREV_BUTTONS]
    ei[b, p, EI_PREV_BUTTONS] = buttons
    pressed = buttons & ~prev_buttons
    sx, sy = (f[P_MAIN_X] - 0.5) * 2.0, (f[P_MAIN_X + 1] - 0.5) * 2.0
    cx, cy = (f[P_MAIN_X + 2] - 0.5) * 2.0, (f[P_MAIN_X + 3] - 0.5) * 2.0
    psx, psy = ef[b, p, EF_PREV_SX], ef[b, p, EF_PREV_SY]
    pcx, pcy = ef[b, p, EF_PREV_CX], ef[b, p, EF_PREV_CY]
    pshoulder = ef[b, p, EF_PREV_SHOULDER]
    ef[b, p, EF_PREV_SX], ef[b, p, EF_PREV_SY], ef[b, p, EF_PREV_CX], ef[b, p, EF_PREV_CY] = sx, sy, cx, cy
    ef[b, p, EF_PREV_SHOULDER] = shoulder
    if sy >= -FASTFALL_STICK:
        ei[b, p, EI_DOWN_AGO] = 255
    elif psy >= -FASTFALL_STICK:
        ei[b, p, EI_DOWN_AGO] = 0
    elif ei[b, p, EI_DOWN_AGO] < 255:
        ei[b, p, EI_DOWN_AGO] += 1
    shoulder_press = (pressed & SHOULDER_BITS) != 0 or (shoulder >= SHIELD_THRESHOLD > pshoulder)
    shield_held = (buttons & SHOULDER_BITS) != 0 or shoulder >= SHIELD_THRESHOLD
    tapped_jump = (pressed & ((1 << BUTTON_X) | (1 << BUTTON_Y))) != 0 or (sy > STICK_TAP and psy < STICK_DEAD)
    jump_held = (buttons & ((1 << BUTTON_X) | (1 << BUTTON_Y))) != 0 or sy > STICK_DEAD
    attack = (pressed & (1 << BUTTON_A)) != 0
    special = (pressed & (1 << BUTTON_B)) != 0
    grab = (pressed & (1 << BUTTON_Z)) != 0 or (attack and shield_held)
    c_push = (abs(cx) > STICK_TAP and abs(pcx) < STICK_DEAD) or (abs(cy) > STICK_TAP and abs(pcy) < STICK_DEAD)
    return Inputs(
        buttons, pressed, sx, sy, cx, cy, psx, psy, pcx, pcy, shoulder, shoulder_press, shield_held, tapped_jump,
        jump_held, attack, special, grab, c_push,
    )  # fmt: skip
