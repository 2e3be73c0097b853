"""The Atari engine: one Gymnasium env that owns the emulator and runs STORI inside its frame loop.

Pipeline of one agent step (``frameskip=k``, ``pool=True``)::

    for each of the k emulator frames:
        type 1: maybe replace the action (every frame, or once per step under granularity="agent_step")
        2.1 event.before -> ale.act -> reward ledger -> 2.1 event.after      (every frame)
        frames k-2 and k-1 only: read the screen (per-frame 3.2 under po_timing="per_frame")
    observation = max of the two read frames, then 3.2 once (po_timing="per_observation": fills on the
    pooled frame; a RAM peek replaces both frames by two look-ahead frames from one snapshot),
    then optional grayscale / resize.

Rewards are summed over the k frames. The emulator runs at frameskip 1 with sticky actions off
(sticky actions are untracked type-1 noise), minimal action set, ``max_num_frames_per_episode``
108,000 frames like ``ALE/<Game>-v5``. With ``frameskip=1`` (and any ``pool``) the env is a
per-frame env, the paper's base environment; type 3.1 with ``frameskip=1`` reproduces
``ALE/<Game>-v5`` (``frameskip=1, repeat_action_probability=0``) frame for frame.

Concept drift (2.2) builds its secondary component once, disabled, and lists it in
``drift_components``; :func:`stori_envs.atari.make_atari` wraps the env in the core
:class:`~stori_envs.taxonomy.drift.ConceptDrift`, which switches it.
"""

from __future__ import annotations

import logging
from typing import Any

import gymnasium as gym
import numpy as np
from ale_py import Action, ALEInterface, LoggerMode, roms
from gymnasium import spaces

from stori_envs.atari.components import ActionReplacer, ObservationHider
from stori_envs.atari.events import AtariEvent, GatedEvent
from stori_envs.atari.game import Game, game_for, games
from stori_envs.atari.ledger import RewardLedger
from stori_envs.atari.peek import InFrameWrite
from stori_envs.taxonomy.events import build_event
from stori_envs.taxonomy.profile import IMAGE_OBSERVATION_TYPES, Profile, as_profile
from stori_envs.taxonomy.record import stori_record
from stori_envs.taxonomy.seeding import SeededStream

logger = logging.getLogger(__name__)

OBS_TYPES = ("rgb", "ram", "state")
HEIGHT, WIDTH = 210, 160


def _resolve_game(game: str | Game) -> Game:
    if isinstance(game, Game):
        return game
    found = game_for(game) if isinstance(game, str) else None
    if found is None:
        raise ValueError(f"game: got {game!r}; allowed: " + ", ".join(g.name for g in games().values())
                         + " (or 'ALE/<Game>-v5')")
    return found


def _screen_shape(screen_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if screen_size is None:
        return None
    if isinstance(screen_size, int) and not isinstance(screen_size, bool) and screen_size > 0:
        return screen_size, screen_size
    if (isinstance(screen_size, (tuple, list)) and len(screen_size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in screen_size)):
        return int(screen_size[0]), int(screen_size[1])
    raise ValueError(f"screen_size: got {screen_size!r}; allowed: None, a positive int, or (height, width)")


class AtariStoriEnv(gym.Env):
    """Breakout, Boxing, Gopher or BankHeist under a STORI profile, with its own frame skip and max-pool.

    Args:
        game: ``"Breakout"``, ``"Boxing"``, ``"Gopher"``, ``"BankHeist"`` (or ``"ALE/<Game>-v5"``).
        profile: any profile form (:meth:`Profile.parse`); None is type 3.1.
        frameskip: emulator frames per agent step (k, default 4); rewards are summed.
        pool: max of the last two frames of each step (ignored when k = 1).
        obs_type: ``"rgb"`` (default), ``"ram"`` (the 128 RAM bytes) or ``"state"`` (type 0: a Dict of
            ``ram`` plus the game's decoded fields); a type-0 profile defaults to ``"state"``.
        grayscale: RGB observations become (H, W, 1) luminance (after 3.2).
        screen_size: resize RGB observations to (size, size) or (height, width), area interpolation.
        max_num_frames_per_episode: emulator frames before truncation (108,000 as in v5).
        render_mode: None or ``"rgb_array"``; ``render()`` returns the last full-resolution frame the
            agent got (3.2 applied, before grayscale/resize), with no new draw and no peek.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, game: str | Game = "Breakout", profile: Profile | dict | str | None = None, *,
                 frameskip: int = 4, pool: bool = True, obs_type: str | None = None, grayscale: bool = False,
                 screen_size: int | tuple[int, int] | None = None, max_num_frames_per_episode: int = 108_000,
                 render_mode: str | None = None) -> None:
        self.game = _resolve_game(game)
        self.profile = profile = as_profile(profile)
        self.semantics = sem = profile.semantics
        if isinstance(frameskip, bool) or not isinstance(frameskip, int) or frameskip < 1:
            raise ValueError(f"frameskip: got {frameskip!r}; allowed: an integer >= 1")
        if not isinstance(pool, bool):
            raise ValueError(f"pool: got {pool!r}; allowed: True or False")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode: got {render_mode!r}; allowed: None, 'rgb_array'")
        if isinstance(max_num_frames_per_episode, bool) or not isinstance(max_num_frames_per_episode, int) \
                or max_num_frames_per_episode < 0:
            raise ValueError(f"max_num_frames_per_episode: got {max_num_frames_per_episode!r}; "
                             "allowed: an integer >= 0 (0: no limit)")
        self.frameskip = frameskip
        self.pool = pool and frameskip > 1
        self.render_mode = render_mode
        self.stori_type = profile.stochasticity_type
        self.obs_type = self._obs_type(obs_type)
        self.grayscale = bool(grayscale)
        self.screen_shape = _screen_shape(screen_size)
        if self.obs_type != "rgb" and (self.grayscale or self.screen_shape):
            raise ValueError(f"grayscale/screen_size: got grayscale={grayscale!r}, screen_size={screen_size!r} "
                             f"with obs_type={self.obs_type!r}; allowed: only with obs_type='rgb'")

        ALEInterface.setLoggerMode(LoggerMode.Error)  # static, before construction: no banner on stdout
        self.ale = ALEInterface()
        self.ale.setFloat("repeat_action_probability", 0.0)
        self.ale.setInt("frame_skip", 1)
        self.ale.setInt("max_num_frames_per_episode", max_num_frames_per_episode)
        # The emulator's RNG only drives sticky actions, which are off: its seed changes no trajectory of
        # these games (tested). So the ROM is loaded once (~100 ms) and a seeded reset restores the
        # power-on snapshot instead (~50 µs): that is what ALE/<Game>-v5's reload achieves. It matters,
        # since reset_game() alone keeps some emulator state: after one history (found by a test) Boxing's
        # enemy moved differently in the next episode.
        self.ale.setInt("random_seed", 0)
        self.ale.loadROM(roms.get_rom_path(self.game.rom))
        self._power_on = self.ale.cloneState(include_rng=True)
        self._frame_origin = 0  # ALE's global frame count at the last seeded reset (see frame_number)
        self._actions: list[Action] = list(self.ale.getMinimalActionSet())
        self._noop = Action.NOOP
        self.action_space = spaces.Discrete(len(self._actions))
        self.observation_space = self._observation_space()

        self.ledger = RewardLedger(sem.reward)
        self.baseline_ram = self.ale.getRAM()
        self.frame_in_step = 0
        self._replacer: ActionReplacer | None = None
        self._event: AtariEvent | None = None
        self._hider: ObservationHider | None = None
        self._events_stream = SeededStream("events", sem.seed_policy)
        self._events_rng = self._events_stream.rng
        self._build_components()
        self._buffers = (np.empty((HEIGHT, WIDTH, 3), np.uint8), np.empty((HEIGHT, WIDTH, 3), np.uint8))
        self._in_frame = InFrameWrite()
        self._last_frame: np.ndarray | None = None

    # -- construction ---------------------------------------------------------------------------
    def _obs_type(self, obs_type: str | None) -> str:
        t = self.stori_type
        if obs_type is None:
            return "state" if t == "0" else "rgb"
        if obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type: got {obs_type!r}; allowed: " + ", ".join(OBS_TYPES))
        if t == "0" and obs_type == "rgb":
            raise ValueError("obs_type: got 'rgb' with stochasticity_type '0'; allowed: 'state' or 'ram'")
        uses_po = t == "3.2" or (t == "2.2" and self.profile.drift.secondary_concept_type == "3.2")
        if uses_po and obs_type != "rgb":
            raise ValueError(f"obs_type: got {obs_type!r} with partial observation (type 3.2); allowed: 'rgb'")
        return obs_type

    def _observation_space(self) -> spaces.Space:
        ram_space = spaces.Box(0, 255, (self.ale.getRAMSize(),), np.uint8)
        if self.obs_type == "ram":
            return ram_space
        if self.obs_type == "state":
            fields = {f.name: spaces.Box(f.low, f.high, (1,), np.int32) for f in self.game.state_fields}
            return spaces.Dict({"ram": ram_space, **fields})
        h, w = self.screen_shape or (HEIGHT, WIDTH)
        if self.grayscale or self.screen_shape:
            import importlib.util

            if importlib.util.find_spec("cv2") is None:
                raise ValueError("grayscale/screen_size: need OpenCV; allowed: install opencv-python-headless, "
                                 "or leave grayscale=False and screen_size=None")
        return spaces.Box(0, 255, (h, w, 1) if self.grayscale else (h, w, 3), np.uint8)

    def _build_components(self) -> None:
        profile, sem = self.profile, self.semantics
        t = self.stori_type
        kind = profile.drift.secondary_concept_type if t == "2.2" else t
        enabled = t != "2.2"
        if t == "2.2" and sem.drift_unit == "frame" and self.frameskip != 1:
            raise ValueError(f"semantics.drift_unit: got 'frame' with frameskip={self.frameskip}; allowed: "
                             "'agent_step', or 'frame' with frameskip=1 (where the two coincide)")
        component: Any = None
        if kind == "1":
            a = profile.action
            if a.allowed_actions is not None and a.random_action_set is not None:
                raise ValueError("intrinsic_stochasticity.action_dependent.random_action_set: got "
                                 f"{a.random_action_set!r} together with allowed_actions; allowed: one of the two")
            allowed = a.allowed_actions if a.allowed_actions is not None else self.game.action_set(a.random_action_set)
            component = self._replacer = ActionReplacer(
                self.action_space.n, a.stochastic_action_prob, allowed, per_step=sem.granularity == "agent_step",
                seed_policy=sem.seed_policy, enabled=enabled)
        elif kind == "2.1":
            event = build_event(self.game.family, profile.events, self)
            if event is not None and not isinstance(event, AtariEvent):
                event = GatedEvent(event)
            if event is not None:
                event.enabled = enabled
            component = self._event = event
        elif kind == "3.2":
            component = self._hider = self._build_hider(enabled)
        self.drift_components = (component,) if t == "2.2" and component is not None else ()

    def _build_hider(self, enabled: bool) -> ObservationHider | None:
        po, sem = self.profile.partial_observation, self.semantics
        if po.type not in IMAGE_OBSERVATION_TYPES:
            raise ValueError(f"partial_observation.type: got {po.type!r}; allowed on Atari: "
                             + ", ".join(IMAGE_OBSERVATION_TYPES))
        common = dict(per_frame=sem.po_timing == "per_frame", seed_policy=sem.seed_policy, height=HEIGHT,
                      width=WIDTH, enabled=enabled)
        if po.type == "crop":
            if po.mode == "0":
                return None
            return ObservationHider("crop", po.prob, crop_mode=po.mode, torch_radius=po.torch_radius, **common)
        if po.type == "blackout":
            rects = po.regions if po.regions is not None else self.game.blackout(po.mode).regions
            return ObservationHider("blackout", po.prob, regions=rects, **common) if rects else None
        mode = self.game.ram_mode(po.mode)
        if po.mode == "0":
            return None
        in_frame = sem.ram_peek == "in_frame"
        if in_frame and not mode.in_frame:
            allowed = [m for m, spec in self.game.ram_modes.items() if spec.in_frame]
            raise ValueError(f"semantics.ram_peek: got 'in_frame' for {self.game.name} ram mode {po.mode!r}; allowed: "
                             f"'lookahead', or 'in_frame' with the modes proven equivalent ({', '.join(allowed) or 'none'})")
        return ObservationHider("ram", po.prob, ram_mode=mode, in_frame=in_frame, **common)

    # -- seeding and reset ----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed, options=options)
        if seed is not None:
            self.ale.restoreState(self._power_on)
            self._frame_origin = self.ale.getFrameNumber()
        self._events_rng = self._events_stream.reset(seed)
        for component in (self._replacer, self._hider):
            if component is not None:
                component.reset(seed)
        ale = self.ale
        ale.reset_game()
        self.ledger.clear()
        self.baseline_ram = ale.getRAM()
        self.frame_in_step = 0
        if self._event is not None:
            self._event.reset(self, self._events_rng)
        altered = False
        if self.obs_type == "rgb":
            frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
            hider = self._hider if self._hider is not None and self._hider.enabled else None
            if hider is not None and hider.hide():
                if hider.kind == "ram":  # the reset observation always uses the look-ahead peek
                    altered = hider.peek(ale, self._noop, frame)
                else:
                    ale.getScreenRGB(frame)
                    hider.fill_(frame)
                    altered = True
            else:
                ale.getScreenRGB(frame)
            obs = self._image(frame)
        else:
            obs = self._state()
        info = self._info()
        rec = stori_record(info, self.stori_type)
        self._record_defaults(rec, altered)
        return obs, info

    # -- stepping -------------------------------------------------------------------------------
    def step(self, action):
        try:
            a = int(action)
        except (TypeError, ValueError):
            raise ValueError(f"action: got {action!r}; allowed: an integer in [0, {self.action_space.n - 1}]") from None
        if not 0 <= a < self.action_space.n:
            raise ValueError(f"action: got {action!r}; allowed: an integer in [0, {self.action_space.n - 1}]")
        ale, acts, k = self.ale, self._actions, self.frameskip
        ledger = self.ledger
        ledger.correction = 0.0
        rep = self._replacer if self._replacer is not None and self._replacer.enabled else None
        event, ev_rng = self._event, self._events_rng
        hider = self._hider if self._hider is not None and self._hider.enabled else None
        images = self.obs_type == "rgb"
        first_read = (k - 2 if self.pool else k - 1) if images else k + 1
        per_frame_po = hider is not None and hider.per_frame
        hide_obs = hider is not None and not per_frame_po and hider.hide()
        in_frame = hider is not None and hider.in_frame
        ram_peek = hider is not None and hider.kind == "ram"
        # A hidden RAM observation (per observation, look-ahead) is peeked once after the loop; the
        # real pooled screens are read only if the mode might find nothing to hide.
        pooled_peek = hide_obs and ram_peek and not in_frame
        read_real = not pooled_peek or hider.needs_real_frames

        executed = held = a
        replaced = 0
        held_replaced = rep is not None and rep.per_step and rep.rng.random() < rep.p
        if held_replaced:
            held = int(rep.sample(rep.rng))
        executed_actions = []
        reward = 0.0
        events = 0
        n_read = 0
        altered = False
        buffers = self._buffers
        frame_index = 0
        for frame_index in range(k):
            self.frame_in_step = frame_index
            executed = held
            if rep is not None and not rep.per_step and rep.rng.random() < rep.p:
                executed = int(rep.sample(rep.rng))
                replaced += 1
            executed_actions.append(executed)
            if event is not None and event.before(self, executed, ev_rng):
                events += 1
            reads = frame_index >= first_read
            hide_frame = writing = False
            if reads and hider is not None and not pooled_peek:
                hide_frame = hider.hide() if per_frame_po else hide_obs
                if hide_frame and in_frame:
                    writes = hider.writes(ale)
                    hide_frame = writing = bool(writes)
                    if writing:
                        self._in_frame.begin(ale, writes)
            r = ale.act(acts[executed])
            if ledger.pending:
                r = ledger.settle(r)
            if event is not None:
                r, fired = event.after(self, executed, r, ev_rng)
                events += fired
            reward += r
            over = ale.game_over()
            if over and not reads and images:
                # The episode ended before the pooled frames: this frame is the observation.
                reads = True
                if hider is not None and not pooled_peek:
                    hide_frame = hider.hide() if per_frame_po else hide_obs
            if reads:
                buf = buffers[n_read]
                n_read += 1
                if read_real and self._read_frame(buf, hider, hide_frame, writing):
                    altered = True
            if over:
                break
        if held_replaced:
            replaced = frame_index + 1
        if pooled_peek:
            altered = hider.peek_pooled(ale, self._noop, buffers[:n_read])
        if images:
            frame = np.maximum(buffers[0], buffers[1]) if n_read == 2 else buffers[0].copy()
            if hide_obs and not ram_peek:
                hider.fill_(frame)
                altered = True
            obs = self._image(frame)
        else:
            obs = self._state()
        terminated = ale.game_over(with_truncation=False)
        truncated = ale.game_truncated()
        info = self._info()
        rec = stori_record(info, self.stori_type, a)
        rec["executed_action"] = executed
        rec["executed_actions"] = tuple(executed_actions)
        rec["action_replaced"] = replaced > 0
        rec["replaced_frames"] = replaced
        rec["event"] = events > 0
        rec["events"] = events
        rec["reward_correction"] = ledger.correction
        rec["observation_altered"] = altered
        rec["frames"] = frame_index + 1
        return obs, reward, terminated, truncated, info

    # -- observations ---------------------------------------------------------------------------
    def _read_frame(self, buf: np.ndarray, hider: ObservationHider | None, hide: bool, writing: bool) -> bool:
        """Read the frame just emulated into ``buf``, hidden if asked (per-frame fills, RAM peeks).

        Returns whether this frame was hidden (per-observation fills are applied after pooling).
        """
        ale = self.ale
        if hide and hider.kind == "ram":
            if writing:  # in-frame: the bytes were written before this frame; put them back
                ale.getScreenRGB(buf)
                self._in_frame.end(ale)
                return True
            return hider.peek(ale, self._noop, buf)
        ale.getScreenRGB(buf)
        if hide and hider.per_frame:
            hider.fill_(buf)
            return True
        return False

    def _image(self, frame: np.ndarray) -> np.ndarray:
        """Remember ``frame`` (ours, fresh) for render() and convert it to the observation."""
        self._last_frame = frame
        if not (self.grayscale or self.screen_shape):
            return frame
        import cv2

        out = frame
        if self.grayscale:
            out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        if self.screen_shape:
            h, w = self.screen_shape
            out = cv2.resize(out, (w, h), interpolation=cv2.INTER_AREA)
        return out[..., None] if self.grayscale else out

    def _state(self) -> np.ndarray | dict[str, np.ndarray]:
        ram = self.ale.getRAM()
        if self.obs_type == "ram":
            return ram
        out = {"ram": ram}
        for f in self.game.state_fields:
            out[f.name] = np.array([f.read(ram, self.ale)], dtype=np.int32)
        return out

    def state_labels(self) -> dict[str, str]:
        """What each decoded field of the ``state`` observation means."""
        return {f.name: f.description for f in self.game.state_fields}

    @property
    def frame_number(self) -> int:
        """Emulated frames since the last seeded reset (``ALE/<Game>-v5`` reloads the ROM there, which
        restarts ALE's global counter; counting from there keeps seeded runs reproducible)."""
        return self.ale.getFrameNumber() - self._frame_origin

    def _info(self) -> dict[str, Any]:
        ale = self.ale
        return {"lives": ale.lives(), "episode_frame_number": ale.getEpisodeFrameNumber(),
                "frame_number": ale.getFrameNumber() - self._frame_origin}

    @staticmethod
    def _record_defaults(rec: dict[str, Any], altered: bool) -> None:
        rec.update(executed_actions=(), replaced_frames=0, events=0, reward_correction=0.0,
                   observation_altered=altered, frames=0)

    def render(self) -> np.ndarray | None:
        """The last full-resolution RGB frame the agent got (no new draw, no peek)."""
        if self.render_mode != "rgb_array":
            return None
        if self._last_frame is None:
            return self.ale.getScreenRGB()
        return self._last_frame.copy()

    def get_action_meanings(self) -> list[str]:
        return [a.name for a in self._actions]

    def close(self) -> None:
        self._last_frame = None
