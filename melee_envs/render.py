"""Draw any ``GameState`` frame as an RGB image with numpy (no display, no extra dependency).

The picture: blast zones (outline), the stage's ground and ledges, platforms, each character as a
box in its port colour (darker while in hitstun, hatched while intangible) with a facing mark, the
active hitbox of its current attack (from the engine's move table, so it works for replay frames
too), its shield bubble while shielding, and a bar per port at the bottom with percent (digits)
and stock pips. Used by ``render_mode="rgb_array"`` (so Gymnasium's ``RecordVideo`` works) and by
``examples/render_bots.py``; it is never called on the stepping path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from melee_envs.data import stages
from melee_envs.state import GameState

PORT_COLOURS = np.array([[230, 60, 50], [50, 110, 230], [240, 200, 40], [60, 180, 80]], np.uint8)
BACKGROUND = np.array([18, 20, 28], np.uint8)
STAGE_COLOUR = np.array([120, 120, 135], np.uint8)
PLATFORM_COLOUR = np.array([170, 170, 185], np.uint8)
BLAST_COLOUR = np.array([90, 40, 40], np.uint8)
HITBOX_COLOUR = np.array([255, 40, 40], np.uint8)
SHIELD_COLOUR = np.array([120, 200, 255], np.uint8)
TEXT_COLOUR = np.array([235, 235, 235], np.uint8)

# 3x5 digit glyphs, rows top to bottom.
_DIGITS = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "001", "001", "001"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    "%": ("101", "001", "010", "100", "101"),
}


class _Canvas:
    def __init__(self, width: int, height: int, view: tuple[float, float, float, float]) -> None:
        self.img = np.empty((height, width, 3), np.uint8)
        self.img[:] = BACKGROUND
        self.w, self.h = width, height
        left, right, bottom, top = view
        self.scale = min(width / (right - left), (height * 0.85) / (top - bottom))
        self.x0 = width / 2 - self.scale * (left + right) / 2
        self.y0 = height * 0.85 / 2 + self.scale * (top + bottom) / 2

    def px(self, x: float, y: float) -> tuple[int, int]:
        return int(round(self.x0 + x * self.scale)), int(round(self.y0 - y * self.scale))

    def rect(self, c0: int, r0: int, c1: int, r1: int, colour: np.ndarray, alpha: float = 1.0) -> None:
        c0, c1 = sorted((max(0, min(self.w, c0)), max(0, min(self.w, c1))))
        r0, r1 = sorted((max(0, min(self.h, r0)), max(0, min(self.h, r1))))
        if c1 <= c0 or r1 <= r0:
            return
        region = self.img[r0:r1, c0:c1]
        if alpha >= 1.0:
            region[:] = colour
        else:
            region[:] = (region * (1 - alpha) + colour * alpha).astype(np.uint8)

    def world_rect(self, x0: float, y0: float, x1: float, y1: float, colour: np.ndarray, alpha: float = 1.0) -> None:
        c0, r0 = self.px(x0, y1)
        c1, r1 = self.px(x1, y0)
        self.rect(c0, r0, c1 + 1, r1 + 1, colour, alpha)

    def circle(self, x: float, y: float, radius: float, colour: np.ndarray, alpha: float, ring: bool = False) -> None:
        cx, cy = self.px(x, y)
        r = max(1.0, radius * self.scale)
        c0, c1 = max(0, int(cx - r)), min(self.w, int(cx + r) + 1)
        r0, r1 = max(0, int(cy - r)), min(self.h, int(cy + r) + 1)
        if c1 <= c0 or r1 <= r0:
            return
        yy, xx = np.mgrid[r0:r1, c0:c1]
        d2 = (xx - cx) ** 2 + (yy - cy) ** 2
        mask = d2 <= r * r
        if ring:
            mask &= d2 >= (r - 2) ** 2
        region = self.img[r0:r1, c0:c1]
        region[mask] = (region[mask] * (1 - alpha) + colour * alpha).astype(np.uint8)

    def outline(self, x0: float, y0: float, x1: float, y1: float, colour: np.ndarray) -> None:
        c0, r0 = self.px(x0, y1)
        c1, r1 = self.px(x1, y0)
        self.rect(c0, r0, c1 + 1, r0 + 2, colour)
        self.rect(c0, r1 - 1, c1 + 1, r1 + 1, colour)
        self.rect(c0, r0, c0 + 2, r1 + 1, colour)
        self.rect(c1 - 1, r0, c1 + 1, r1 + 1, colour)

    def text(self, c: int, r: int, s: str, colour: np.ndarray, size: int = 3) -> None:
        for ch in s:
            glyph = _DIGITS.get(ch)
            if glyph is not None:
                for gy, line in enumerate(glyph):
                    for gx, bit in enumerate(line):
                        if bit == "1":
                            self.rect(c + gx * size, r + gy * size, c + (gx + 1) * size, r + (gy + 1) * size, colour)
            c += 4 * size


def _select(state: GameState, index: int | tuple[int, ...] | None) -> GameState:
    if state.batch_shape == ():
        return state
    if index is None:
        index = (0,) * len(state.batch_shape)
    return state[index]


def drawn_size(character: Any) -> np.ndarray:
    """Characters' sizes as drawn (libmelee's size attribute; 10 where it has none), for one id or
    an array of them."""
    from melee_envs.data.characters import attribute_arrays

    sizes = attribute_arrays()["size"]
    ch = np.asarray(character, np.int64)
    size = sizes[ch.clip(0, len(sizes) - 1)]
    return np.where((ch >= 0) & (ch < len(sizes)) & (size > 0), size, 10.0)


def active_hitbox(
    character: Any, action: Any, action_frame: Any, x: Any, y: Any, facing: Any
) -> tuple[np.ndarray, ...]:
    """``(x, y, radius, out)``: the hitbox of the move each character is playing, and whether it is
    out (in the frames the move data gives it; never where the move data knows no hitbox). Takes
    one character's values or arrays of them (a replay's frames)."""
    from melee_envs.data.moves import move_of_action, move_table

    lookup, moves = move_of_action(), move_table().values
    ch, act = np.asarray(character, np.int64), np.asarray(action, np.int64)
    known = (ch >= 0) & (ch < lookup.shape[0]) & (act >= 0) & (act < lookup.shape[1])
    ch, act = ch.clip(0, lookup.shape[0] - 1), act.clip(0, lookup.shape[1] - 1)
    move = np.where(known, lookup[ch, act], -1)
    mv = moves[ch, move.clip(0)]
    frame = np.asarray(action_frame)
    out = (move >= 0) & (mv[..., 2] <= frame) & (frame <= mv[..., 3]) & (mv[..., 7] > 0)
    return np.asarray(x) + np.asarray(facing) * mv[..., 5], np.asarray(y) + mv[..., 6], mv[..., 7], out


def render_state(
    state: GameState, index: int | tuple[int, ...] | None = None, width: int = 640, height: int = 400
) -> np.ndarray:
    """An ``(height, width, 3)`` uint8 image of one frame of ``state`` (``index`` into its batch)."""
    s = _select(state, index)
    info = stages.get(int(s.stage))
    p = s.players
    # A camera like the game's: the stage plus everyone in play, never past the blast zones.
    alive = np.asarray(p.exists) & (np.asarray(p.stocks) > 0)
    xs, ys = np.asarray(p.x)[alive], np.asarray(p.y)[alive]
    top_platform = max((h for h, _, _ in info.platforms), default=0.0)
    left = max(info.blast_left, min(-1.5 * info.ground_x, float(xs.min(initial=0.0)) - 25.0))
    right = min(info.blast_right, max(1.5 * info.ground_x, float(xs.max(initial=0.0)) + 25.0))
    bottom = max(info.blast_bottom, min(-35.0, float(ys.min(initial=0.0)) - 20.0))
    top = min(info.blast_top, max(top_platform + 50.0, float(ys.max(initial=0.0)) + 35.0))
    cv = _Canvas(width, height, (left, right, bottom, top))
    cv.outline(info.blast_left, info.blast_bottom, info.blast_right, info.blast_top, BLAST_COLOUR)
    g = info.ground_x
    cv.world_rect(-g, -12.0, g, 0.0, STAGE_COLOUR)
    for ledge in (-info.ledge_x, info.ledge_x):
        cv.world_rect(ledge - 1.0, -2.0, ledge + 1.0, 0.0, TEXT_COLOUR)
    for height_, p_left, p_right in info.platforms:
        cv.world_rect(p_left, height_ - 1.0, p_right, height_, PLATFORM_COLOUR)
    num = p.x.shape[-1]
    for i in range(num):
        if not bool(p.exists[i]) or int(p.stocks[i]) <= 0:
            continue
        ch, action = int(p.character[i]), int(p.action[i])
        size = float(drawn_size(ch))
        x, y, face = float(p.x[i]), float(p.y[i]), float(p.facing[i])
        colour = PORT_COLOURS[i % 4]
        if float(p.hitstun[i]) > 0:
            colour = (colour * 0.55).astype(np.uint8)
        w, h = 0.35 * size, 1.2 * size
        cv.world_rect(x - w, y, x + w, y + h, colour, 0.5 if bool(p.invulnerable[i]) else 1.0)
        cv.world_rect(x + face * w * 0.2, y + 0.65 * h, x + face * (w + 0.3 * size), y + 0.8 * h, TEXT_COLOUR)
        hx, hy, radius, out = active_hitbox(ch, action, p.action_frame[i], x, y, face)
        if out:
            cv.circle(float(hx), float(hy), float(radius), HITBOX_COLOUR, 0.6)
        if 178 <= action <= 181:  # SHIELD_START .. SHIELD_STUN
            radius = 0.9 * size * max(0.2, float(p.shield[i]) / 60.0)
            cv.circle(x, y + 0.6 * h, radius, SHIELD_COLOUR, 0.8, ring=True)
    bar_top = int(height * 0.87)
    for i in range(num):
        if not bool(p.exists[i]):
            continue
        c = 20 + i * (width // max(num, 2))
        cv.rect(c, bar_top, c + 12, bar_top + 12, PORT_COLOURS[i % 4])
        cv.text(c + 18, bar_top, f"{int(round(float(p.percent[i])))}%", TEXT_COLOUR, 3)
        for k in range(max(0, int(p.stocks[i]))):
            cv.rect(c + 18 + k * 12, bar_top + 22, c + 26 + k * 12, bar_top + 30, PORT_COLOURS[i % 4])
    return cv.img


def save_png(image: np.ndarray, path: str) -> None:
    """Write an RGB image with Pillow (the optional ``render`` extra)."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("saving PNG needs Pillow: pip install 'exphil[render]'") from exc
    Image.fromarray(image).save(path)


class Window:
    """``render_mode="human"``: frames shown in a pygame window at ``fps`` (``pip install
    'exphil[render]'``). Needs a display; without one it says so and names the alternatives."""

    def __init__(self, fps: float = 60.0) -> None:
        import os

        if not any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")):
            raise RuntimeError(
                "render_mode='human' opens a window, but this machine has no display (DISPLAY and WAYLAND_DISPLAY "
                "are unset). Use render_mode='rgb_array' (with gymnasium.wrappers.RecordVideo for a video), run "
                "under a virtual display (xvfb-run python ...), or set SDL_VIDEODRIVER=dummy to render off-screen."
            )
        try:
            import pygame
        except ImportError as err:
            raise ImportError("render_mode='human' needs pygame: pip install 'exphil[render]'") from err
        pygame.display.init()
        self._pygame = pygame
        self._screen: Any = None
        self._clock = pygame.time.Clock()
        self._fps = fps

    def show(self, image: np.ndarray) -> None:
        """Draw one ``(H, W, 3)`` frame and keep to the frame rate."""
        pg = self._pygame
        if self._screen is None:
            self._screen = pg.display.set_mode((image.shape[1], image.shape[0]))
            pg.display.set_caption("Melee")
        pg.event.pump()  # keeps the window responsive
        pg.surfarray.blit_array(self._screen, np.ascontiguousarray(image.transpose(1, 0, 2)))
        pg.display.flip()
        self._clock.tick(self._fps)

    def close(self) -> None:
        self._pygame.display.quit()
