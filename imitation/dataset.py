"""Behavioural-cloning examples from replays, and the memory-mapped dataset that holds them.

One *example* is a frame seen by one player: the encoded observation of frame ``t`` (which, like
an env observation, includes the controller that produced it) and, as the target, the
controller that player held on frame ``t + 1 + delay`` in the codec's ``MultiDiscrete``
encoding. Examples are grouped in *segments*: one uninterrupted run of frames of one player of
one replay (mirrored copies are separate segments), so sequence models can cut windows that
never cross games.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numba
import numpy as np

from imitation.players import names_of, player_name
from imitation.quality import score
from melee_envs.backends.replay import Replay, ReplayError
from melee_envs.configs import check_fields
from melee_envs.controller import ACTION_SIZE, ControllerCodec, uniform_centres
from melee_envs.data import characters, stages
from melee_envs.obs import ObsConfig, ObservationEncoder
from melee_envs.state import PackedState, mirror_x

#: Columns of ``segments.npy``: where a segment starts in its shard, its length, the player's
#: port, internal character id, the opponent's character id, and 1 if mirrored.
SEGMENT_COLUMNS = ("start", "length", "port", "character", "opponent", "mirrored")


@dataclass(frozen=True)
class DatasetConfig:
    """What to extract from each replay. Everything here is part of the cache key.

    Args:
        obs: the observation encoder's config. The default is the compact layout with action,
            character and stage ids for learned embeddings (121 values, the seed's choice for
            BC); ``ObsConfig()`` gives the env's one-hot layout (1035), 8.5x the disk.
        players: ``both`` (each player of a 1v1 from its own point of view) or ``first`` (port
            order's first player only).
        characters: keep only players of these characters (names or aliases; empty = all).
        opponents: keep only players whose opponent is one of these (empty = all).
        stages: keep only games on these stages (empty = all).
        player_names: keep only players with one of these tags, netplay names or connect codes.
        mirror: add a left-right mirrored copy of every segment.
        delay: target the input ``delay`` frames later (models online input delay).
        pregame: include the 123 countdown frames before "GO" (inputs there do nothing).
        dtype: storage type of observations (``float16`` halves disk and load time; values are
            scaled to O(1), so the rounding is below 1e-3 relative).
        stick_buckets: stick positions per axis of the target encoding (uniform buckets).
        stick_centres: explicit bucket values in [0, 1], ascending, shared by the four stick
            axes (e.g. k-means centres from ``exphil bc kmeans``); overrides ``stick_buckets``.
        min_quality: leave out replays whose :func:`imitation.quality.score` is below this
            (0 keeps all; 50 drops very short games, AFK players, SD chains, most CPU games).
        player_styles: fill the observation's player-name slot with each example's player
            (:mod:`imitation.players`; the slot is ``obs.player_names`` wide, which must be set
            to the same value); 0 leaves it empty.
        style_ids: the registry's fixed ``(name, id)`` pairs; other names are hashed.
    """

    obs: ObsConfig = field(default_factory=ObsConfig.learned)
    players: Literal["both", "first"] = "both"
    characters: tuple[str, ...] = ()
    opponents: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    player_names: tuple[str, ...] = ()
    mirror: bool = False
    delay: int = 0
    pregame: bool = False
    dtype: Literal["float16", "float32"] = "float16"
    stick_buckets: int = 17
    stick_centres: tuple[float, ...] = ()
    min_quality: float = 0.0
    player_styles: int = 0
    style_ids: tuple[tuple[str, int], ...] = ()

    def registry(self) -> Any:
        """The :class:`~imitation.players.PlayerRegistry` of ``player_styles`` (None when off)."""
        from imitation.players import PlayerRegistry

        return PlayerRegistry(self.player_styles, dict(self.style_ids)) if self.player_styles else None

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field. Called by every consumer (building,
        extraction, :meth:`to_dict`), not at construction, so command-line parsing can build
        the object and report a bad value in one line."""
        if self.players not in ("both", "first"):
            raise ValueError(f"DatasetConfig.players={self.players!r}; choose 'both' or 'first'")
        if self.dtype not in ("float16", "float32"):
            raise ValueError(f"DatasetConfig.dtype={self.dtype!r}; choose 'float16' or 'float32'")
        if not 2 <= self.stick_buckets <= 127:
            raise ValueError(f"DatasetConfig.stick_buckets must be 2..127; got {self.stick_buckets}")
        if self.delay < 0:
            raise ValueError(f"DatasetConfig.delay must be >= 0; got {self.delay}")
        if self.stick_centres:
            c = np.asarray(self.stick_centres, np.float64)
            if not (2 <= len(c) <= 127 and (c >= 0).all() and (c <= 1).all() and (np.diff(c) > 0).all()):
                raise ValueError("DatasetConfig.stick_centres must be 2..127 ascending values in [0, 1]")
        for name in self.characters + self.opponents:
            characters.get(name)  # raises naming the unknown character
        for name in self.stages:
            stages.get(name)
        if self.player_styles and self.obs.player_names != self.player_styles:
            raise ValueError(
                f"DatasetConfig.player_styles={self.player_styles} needs an observation with that many "
                f"player-name values (obs.player_names is {self.obs.player_names})"
            )
        self.registry()  # ids in range

    def codec(self) -> ControllerCodec:
        """The controller codec of the targets (uniform buckets or ``stick_centres``)."""
        centres = np.asarray(self.stick_centres, np.float32) if self.stick_centres else None
        return ControllerCodec(stick_centres=centres if centres is not None else uniform_centres(self.stick_buckets))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, with names resolved so ``puff`` and ``JIGGLYPUFF`` give one key."""
        self.validate()
        out = asdict(self)
        out["characters"] = sorted(characters.get(c).name for c in self.characters)
        out["opponents"] = sorted(characters.get(c).name for c in self.opponents)
        out["stages"] = sorted(stages.get(s).name for s in self.stages)
        out["player_names"] = sorted(n.lower() for n in self.player_names)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DatasetConfig:
        check_fields(cls, values, "DatasetConfig field")
        values = dict(values)
        if isinstance(values.get("obs"), dict):
            values["obs"] = ObsConfig.from_dict(values["obs"])
        for name in ("characters", "opponents", "stages", "player_names", "stick_centres"):
            if name in values:
                values[name] = tuple(values[name])
        if "style_ids" in values:
            values["style_ids"] = tuple((str(n), int(i)) for n, i in values["style_ids"])
        return cls(**values)


class Skip(Exception):  # noqa: N818 - a reason to leave a file out, not an error
    """A readable replay this config leaves out (doubles, filtered character, too short)."""


class Extractor:
    """Turns a :class:`Replay` into example arrays for one :class:`DatasetConfig`."""

    def __init__(self, config: DatasetConfig) -> None:
        self.config = config
        self.encoder = ObservationEncoder(config.obs)
        self.codec = config.codec()
        resolved = config.to_dict()
        self._characters = {characters.get(c).internal_id for c in resolved["characters"]}
        self._opponents = {characters.get(c).internal_id for c in resolved["opponents"]}
        self._stages = {stages.get(s).internal_id for s in resolved["stages"]}
        self._names = set(resolved["player_names"])
        self._registry = config.registry()
        self._buffer: np.ndarray | None = None

    def _scratch(self, rows: int) -> np.ndarray:
        """A reused float32 encode buffer of at least ``rows`` rows."""
        if self._buffer is None or len(self._buffer) < rows:
            self._buffer = self.encoder.allocate(max(rows, 16384))
        return self._buffer[:rows]

    def egos(self, replay: Replay) -> list[int]:
        """Which of the two players become examples (raises :class:`Skip` with the reason)."""
        meta = replay.meta
        if len(meta.players) != 2:
            raise Skip(f"{len(meta.players)} players; datasets take 1v1 games")
        if self._stages and meta.stage not in self._stages:
            raise Skip(f"stage {meta.stage_name} filtered out")
        egos = []
        for ego, info in enumerate(meta.players):
            other = meta.players[1 - ego]
            if self._characters and info.character not in self._characters:
                continue
            if self._opponents and other.character not in self._opponents:
                continue
            if self._names and not {n.lower() for n in info.names} & self._names:
                continue
            egos.append(ego)
        if self.config.min_quality > 0:
            quality = score(replay)
            if quality.score < self.config.min_quality:
                raise Skip(f"quality {quality.score:.0f} < {self.config.min_quality:g}: {', '.join(quality.issues)}")
        if self.config.players == "first":
            egos = egos[:1]
        if not egos:
            chars = " vs ".join(p.character_name for p in meta.players)
            raise Skip(f"no player matches the filters ({chars})")
        return egos

    def extract(self, replay: Replay) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays ``obs (N, F)``, ``actions (N, ACTION_SIZE)`` int8 and ``segments (S, 6)`` int32."""
        cfg = self.config
        egos = self.egos(replay)
        frames = replay.state.frame
        first = 0 if cfg.pregame else int(np.searchsorted(frames, 0))
        n = len(frames) - first
        rows = n - 1 - cfg.delay
        if rows < 1:
            raise Skip(f"too short: {n} frames after the filters")
        # egos() admitted a 1v1 game, whose player axis already is the pair; a row slice of the
        # reader's storage keeps this copy-free.
        packed = (replay.packed or PackedState.from_state(replay.state)).select(slice(first, None))
        check_plausible(packed, replay.meta.path, first)
        views = [(packed, 0)]
        if cfg.mirror:
            views.append((PackedState.from_state(mirror_x(packed.view())), 1))
        obs = np.empty((rows * len(egos) * len(views), self.encoder.size), cfg.dtype)
        actions = np.empty((len(obs), ACTION_SIZE), np.int8)
        scratch = self._scratch(n)
        segments = []
        start = 0
        info = replay.meta.players
        styles = {ego: self._registry.style_id(names_of(info[ego])) if self._registry else 0 for ego in egos}
        for view, mirrored in views:
            controller = view.view().players.controller
            for ego in egos:
                self.encoder.encode_packed(view, ego, out=scratch, style_ids=styles[ego])
                if obs.dtype == np.float16:
                    to_float16(scratch[:rows], obs[start : start + rows].view(np.uint16))
                else:
                    obs[start : start + rows] = scratch[:rows]
                future = type(controller)(*(a[1 + cfg.delay :, ego] for a in controller))
                self.codec.encode_into(future, actions[start : start + rows])
                segments.append((start, rows, info[ego].port, info[ego].character, info[1 - ego].character, mirrored))
                start += rows
        arrays = {"obs": obs, "actions": actions, "segments": np.array(segments, np.int32)}
        meta = replay.meta
        info = {
            "source": meta.path,
            "rows": start,
            "frames": meta.num_frames,
            "stage": meta.stage_name,
            "characters": [p.character_name for p in meta.players],
            "ports": list(meta.ports),
            "version": meta.version,
        }
        if self._registry:  # who each example imitates: a build writes these into the registry file
            info["styles"] = {player_name(names_of(meta.players[e])): styles[e] for e in egos if styles[e]}
        return arrays, info


#: No float in a real game's state comes near this (positions and speeds stay within a few hundred
#: units, percent within 999, shield 60, sticks and triggers within [0, 1]); values beyond it come
#: from a damaged file that still parses.
PLAUSIBLE_LIMIT = 1e5


def check_plausible(packed: PackedState, path: str | Path, first_frame: int = 0) -> None:
    """Refuse a replay whose player or projectile floats are not finite or beyond
    :data:`PLAUSIBLE_LIMIT`, naming the column, the player and the frame.

    Raises:
        ReplayError: the file parses but holds impossible values (it is damaged).
    """
    from melee_envs.state import PLAYER_FLOAT_COLUMNS, PROJ_FLOAT_COLUMNS

    for values, columns, what in ((packed.pf, PLAYER_FLOAT_COLUMNS, "player"), (packed.jf, PROJ_FLOAT_COLUMNS, "item")):
        bad = ~np.isfinite(values) | (np.abs(values) > PLAUSIBLE_LIMIT)
        if bad.any():
            where = np.argwhere(bad)[0]
            value = values[tuple(where)]
            raise ReplayError(
                path,
                f"impossible value {value:.3g} in {columns[where[-1]]} of {what} {where[1] + 1} at row "
                f"{where[0] + first_frame}: the file is damaged",
            )


@dataclass(frozen=True)
class Shard:
    """One replay's examples, memory-mapped."""

    path: Path
    obs: np.ndarray
    actions: np.ndarray
    segments: np.ndarray
    info: dict[str, Any]

    @classmethod
    def open(cls, path: Path) -> Shard:
        """Raises ValueError naming the shard (and its replay, where readable) when it is damaged."""
        try:
            with np.load(path / "labels.npz") as labels:
                actions, segments, info = labels["actions"], labels["segments"], json.loads(str(labels["info"]))
            obs = np.load(path / "obs.npy", mmap_mode="r")
        except Exception as exc:  # numpy and zipfile raise many kinds for a cut or damaged file
            raise ValueError(
                f"cached shard {path} is damaged ({type(exc).__name__}: {exc}); run the build again "
                "(exphil replays build, or exphil bc train), which rebuilds damaged shards"
            ) from None
        if len(obs) != len(actions):
            counts = f"{len(obs)} observations, {len(actions)} actions"
            raise ValueError(f"cached shard {path} of {info.get('source')} is damaged: {counts}")
        return cls(path=path, obs=obs, actions=actions, segments=segments, info=info)


class ReplayDataset:
    """The shards of one built dataset (a ``<cache>/<key>`` directory), memory-mapped.

    Attributes:
        config: the :class:`DatasetConfig` it was built with.
        shards: one :class:`Shard` per replay, in manifest order.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        manifest_path = self.directory / "manifest.json"
        if not manifest_path.exists():
            raise FileNotFoundError(
                f"{self.directory}: no manifest.json; build the dataset first (exphil replays build)"
            )
        manifest = json.loads(manifest_path.read_text())
        self.config = DatasetConfig.from_dict(manifest["config"])
        self.shards = [Shard.open(self.directory / "shards" / h) for h in manifest["shards"]]
        sizes = np.array([len(s.actions) for s in self.shards], np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @property
    def obs_size(self) -> int:
        return ObservationEncoder(self.config.obs).size

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"example {index} out of range for {len(self)} examples")
        index %= len(self)
        s = int(np.searchsorted(self.offsets, index, side="right") - 1)
        local = index - int(self.offsets[s])
        return np.asarray(self.shards[s].obs[local], np.float32), np.asarray(self.shards[s].actions[local], np.int64)

    def sample(self, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``batch`` random examples: ``obs (B, F)`` float32 and ``actions (B, ACTION_SIZE)`` int64."""
        picks = np.sort(rng.integers(0, len(self), batch))
        shard_of = np.searchsorted(self.offsets, picks, side="right") - 1
        obs = np.empty((batch, self.obs_size), np.float32)
        actions = np.empty((batch, ACTION_SIZE), np.int64)
        for s in np.unique(shard_of):
            mask = shard_of == s
            local = picks[mask] - self.offsets[s]
            obs[mask] = self.shards[s].obs[local]
            actions[mask] = self.shards[s].actions[local]
        return obs, actions

    def windows(self, batch: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``batch`` random windows of ``length`` consecutive frames, each inside one segment:
        ``obs (B, T, F)`` float32 and ``actions (B, T, ACTION_SIZE)`` int64."""
        segs = [
            (s, int(a), int(n)) for s, shard in enumerate(self.shards) for a, n in shard.segments[:, :2] if n >= length
        ]
        if not segs:
            raise ValueError(f"no segment is {length} frames long")
        weights = np.array([n - length + 1 for _, _, n in segs], np.float64)
        chosen = rng.choice(len(segs), size=batch, p=weights / weights.sum())
        obs = np.empty((batch, length, self.obs_size), np.float32)
        actions = np.empty((batch, length, ACTION_SIZE), np.int64)
        for b, k in enumerate(chosen):
            s, start, n = segs[k]
            offset = start + int(rng.integers(0, n - length + 1))
            obs[b] = self.shards[s].obs[offset : offset + length]
            actions[b] = self.shards[s].actions[offset : offset + length]
        return obs, actions


@numba.njit(cache=True, nogil=True)
def to_float16(src: np.ndarray, dst: np.ndarray) -> None:  # noqa: PLR0912
    """float32 ``src`` -> IEEE half-precision bits in uint16 ``dst`` (same shape, C-contiguous),
    rounding to nearest even exactly as ``ndarray.astype(np.float16)`` does; about twice as fast,
    which matters at dataset-build rates."""
    s = src.reshape(-1).view(np.uint32)
    d = dst.reshape(-1)
    for i in range(s.shape[0]):
        b = s[i]
        sign = (b >> 16) & 0x8000
        e = (b >> 23) & 0xFF
        m = b & 0x7FFFFF
        if e == 0xFF:  # inf, nan
            d[i] = sign | 0x7C00 | (0x200 if m else 0)
            continue
        ex = np.int64(e) - 112  # rebias 127 -> 15
        if ex >= 31:  # overflow -> inf
            d[i] = sign | 0x7C00
        elif ex <= 0:  # half subnormal (or zero)
            if ex < -10:
                d[i] = sign
            else:
                m = m | 0x800000
                shift = np.uint32(14 - ex)
                h = m >> shift
                rem = m & ((np.uint32(1) << shift) - 1)
                half = np.uint32(1) << (shift - 1)
                if rem > half or (rem == half and (h & 1)):
                    h += 1
                d[i] = sign | h
        else:
            h = (np.uint32(ex) << 10) | (m >> 13)
            rem = m & 0x1FFF
            if rem > 0x1000 or (rem == 0x1000 and (h & 1)):
                h += 1  # a carry into the exponent is the correct rounding (up to inf)
            d[i] = sign | h
