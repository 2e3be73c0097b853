"""The Atari engine: one Gymnasium env that owns the emulator and runs STORI inside its frame loop.

Pipeline of one agent step (``frameskip=k``, ``pool=True``)::

    the agent's action is checked against the action space (every step, before any replacement)
    for each of the k emulator frames:
        type 1: maybe replace the action (every frame, or once per step under granularity="agent_step")
        2.1 event.before -> ale.act -> reward ledger -> 2.1 event.after      (every frame)
        frames k-2 and k-1 only: read the screen (per-frame 3.2 under po_timing="per_frame")
    observation = max of the two read frames, then 3.2 once (po_timing="per_observation": fills on the
    pooled frame; a RAM peek replaces both frames by two look-ahead frames from one snapshot),
    then optional grayscale / resize.

Rewards are summed over the k frames. The emulator runs at frameskip 1, minimal action set,
``max_num_frames_per_episode`` 108,000 frames like ``ALE/<Game>-v5``, and sticky actions off unless
asked (``repeat_action_probability``; the ``ALE/<Game>-v5`` spelling asks for v5's 0.25). With
``frameskip=1`` (and any ``pool``) the env is a per-frame env, the paper's base environment; type 3.1
with ``frameskip=1`` reproduces ``ALE/<Game>-v5`` (``frameskip=1, repeat_action_probability=0``) frame
for frame, and with ``pool=False`` and v5's settings it reproduces ``gym.make("ALE/<Game>-v5")``.

``info["stori"]["observation_altered"]`` is true exactly when 3.2 changed what the agent sees: a RAM
peek is compared with the same look-ahead without its bytes unless its mode is proven always effective,
and the last observation of an episode (after game over the emulator stops, so there is no look-ahead)
is drawn in-frame from a snapshot of the step's start (:func:`stori_envs.atari.timing.final_peek`).

The knobs are the shared components of :mod:`stori_envs.taxonomy.components`, hosted here per frame
(:mod:`stori_envs.atari.components`); concept drift (2.2) is a ``Drift`` the engine holds, handed the
secondary component (built once, disabled, also listed in ``drift_components``). When 3.2 meets the
frame loop is a strategy object of :mod:`stori_envs.atari.timing`.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import gymnasium as gym
import numpy as np
from ale_py import Action
from gymnasium import spaces

from stori_envs.atari.components import FrameEvents, build_components
from stori_envs.atari.emulator import EmulatorSettings, FramePool, ObservedALE, luminance
from stori_envs.atari.game import Game, game_for, games
from stori_envs.atari.ledger import RewardLedger
from stori_envs.atari.timing import PLAIN, timing_for
from stori_envs.taxonomy.components import ActionReplacement, Component, Occlusion, write_info
from stori_envs.taxonomy.profile import Profile, as_profile

logger = logging.getLogger(__name__)

OBS_TYPES = ("rgb", "grayscale", "ram", "state")
HEIGHT, WIDTH = 210, 160
NTSC_FPS = 60


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
        obs_type: ``"rgb"`` (default), ``"grayscale"`` (ALE's (H, W) luminance of the observed frame, as
            v5's ``obs_type="grayscale"``), ``"ram"`` (the 128 RAM bytes) or ``"state"`` (type 0: a Dict
            of ``ram`` plus the game's decoded fields); a type-0 profile defaults to ``"state"``.
        grayscale: RGB observations become (H, W, 1) luminance (after 3.2).
        screen_size: resize image observations to (size, size) or (height, width), area interpolation.
        max_num_frames_per_episode: emulator frames before truncation (108,000 as in v5; 0: none).
        repeat_action_probability: sticky actions inside the emulator (default 0: they are untracked
            type-1 noise; ``ALE/<Game>-v5`` spellings default to v5's 0.25).
        full_action_space: the 18 legal actions instead of the game's minimal set.
        mode, difficulty: the game's ALE mode and difficulty (None: the default).
        render_mode: None or ``"rgb_array"``; ``render()`` returns the last full-resolution frame the
            agent got (3.2 applied, before grayscale/resize), with no new draw and no peek.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": NTSC_FPS // 4}

    def __init__(self, game: str | Game = "Breakout", profile: Profile | dict | str | None = None, *,
                 frameskip: int = 4, pool: bool = True, obs_type: str | None = None, grayscale: bool = False,
                 screen_size: int | tuple[int, int] | None = None, max_num_frames_per_episode: int | None = 108_000,
                 repeat_action_probability: float = 0.0, full_action_space: bool = False, mode: int | None = None,
                 difficulty: int | None = None, render_mode: str | None = None) -> None:
        self.game = _resolve_game(game)
        self.profile = profile = as_profile(profile)
        self.semantics = sem = profile.semantics
        # Pickling rebuilds the env from these (as ale-py's AtariEnv does); the emulator is not serialised.
        self._init_kwargs = dict(game=self.game.name, profile=profile, frameskip=frameskip, pool=pool,
                                 obs_type=obs_type, grayscale=grayscale, screen_size=screen_size,
                                 max_num_frames_per_episode=max_num_frames_per_episode,
                                 repeat_action_probability=repeat_action_probability,
                                 full_action_space=full_action_space, mode=mode, difficulty=difficulty,
                                 render_mode=render_mode)
        if isinstance(frameskip, tuple):
            raise ValueError(f"frameskip: got {frameskip!r}; allowed: an integer >= 1 (the stochastic frame skip "
                             "of ale-py's v0/v4 ids is not supported)")
        if isinstance(frameskip, bool) or not isinstance(frameskip, (int, np.integer)) or frameskip < 1:
            raise ValueError(f"frameskip: got {frameskip!r}; allowed: an integer >= 1")
        if not isinstance(pool, bool):
            raise ValueError(f"pool: got {pool!r}; allowed: True or False")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode: got {render_mode!r}; allowed: None, 'rgb_array'")
        self.frameskip = int(frameskip)
        self.pool = pool and self.frameskip > 1
        self.render_mode = render_mode
        # One render frame per agent step: the emulator's 60 Hz divided by the frame skip.
        fps = NTSC_FPS / self.frameskip
        self.metadata = {**type(self).metadata, "render_fps": int(fps) if fps.is_integer() else fps}
        self.stori_type = profile.stochasticity_type
        self.obs_type = self._obs_type(obs_type)
        self.grayscale = bool(grayscale)
        self.screen_shape = _screen_shape(screen_size)
        if self.obs_type not in ("rgb", "grayscale") and (self.grayscale or self.screen_shape):
            raise ValueError(f"grayscale/screen_size: got grayscale={grayscale!r}, screen_size={screen_size!r} "
                             f"with obs_type={self.obs_type!r}; allowed: only with obs_type='rgb' or 'grayscale'")
        if self.obs_type == "grayscale" and self.grayscale:
            raise ValueError("grayscale: got True with obs_type='grayscale'; allowed: one of the two")

        self.settings = EmulatorSettings.checked(
            self.game.rom, repeat_action_probability=repeat_action_probability,
            full_action_space=full_action_space, mode=mode, difficulty=difficulty,
            max_num_frames_per_episode=max_num_frames_per_episode)
        self.emulator = emulator = self.settings.build()
        # Without sticky actions the emulator's RNG drives nothing (its seed changes no trajectory of these
        # games, tested), so a seeded reset restores the power-on snapshot (~50 µs) instead of reloading the
        # ROM (~100 ms): that is what ALE/<Game>-v5's reload achieves. It matters, since reset_game() alone
        # keeps some emulator state: after one history (found by a test) Boxing's enemy moved differently
        # in the next episode. With sticky actions a seeded reset re-seeds and reloads, exactly as v5.
        self._power_on = emulator.cloneState(include_rng=True)
        self._frame_origin = 0  # the emulator's global frame count at the last seeded reset (see frame_number)
        minimal = list(emulator.getMinimalActionSet())
        self._actions: list[Action] = list(emulator.getLegalActionSet()) if full_action_space else minimal
        self.minimal_to_index = [self._actions.index(a) for a in minimal]
        self.noop = Action.NOOP
        self.action_space = spaces.Discrete(len(self._actions))
        self.observation_space = self._observation_space()
        self.ale = ObservedALE(self, emulator)

        self.ledger = RewardLedger(sem.reward)
        self.baseline_ram = emulator.getRAM()
        self.frame_in_step = 0
        self.buffers = (np.empty((HEIGHT, WIDTH, 3), np.uint8), np.empty((HEIGHT, WIDTH, 3), np.uint8))
        self.peeks = (np.empty((HEIGHT, WIDTH, 3), np.uint8), np.empty((HEIGHT, WIDTH, 3), np.uint8))
        self.indices = (np.empty((HEIGHT, WIDTH), np.uint8), np.empty((HEIGHT, WIDTH), np.uint8))  # palette
        self.frame_pool = FramePool(self.buffers[0])  # reads and pools the two last frames
        self.n_read = 0
        self.executed_actions: list[int] = []
        self._last_frame: np.ndarray | None = None
        self._images = self.obs_type in ("rgb", "grayscale")
        # The first frame of a step whose screen is read: the last two with pooling, else the last (none
        # for RAM and state observations, which read no screen).
        self._first_read = (self.frameskip - 2 if self.pool else self.frameskip - 1) if self._images else self.frameskip
        self._host(sem)

    def _host(self, sem) -> None:
        """Build the profile's components and what the frame loop calls on them.

        The knob (type 1, a 2.1 event or a 3.2 hider) is a component of the shared protocol; under 2.2
        it is built disabled and handed to a :class:`~stori_envs.taxonomy.components.Drift`, which the
        engine holds and advances once per agent step (it switches only that knob).
        """
        if self.stori_type == "2.2" and sem.drift_unit == "frame" and self.frameskip != 1:
            raise ValueError(f"semantics.drift_unit: got 'frame' with frameskip={self.frameskip}; allowed: "
                             "'agent_step', or 'frame' with frameskip=1 (where the two coincide)")
        knob, self.drift = build_components(self, self.profile, HEIGHT, WIDTH)
        self.components: tuple[Component, ...] = tuple(c for c in (self.drift, knob) if c is not None)
        self.replacer = knob if isinstance(knob, ActionReplacement) else None
        self.events = knob if isinstance(knob, FrameEvents) else None
        self.hider = knob if isinstance(knob, Occlusion) else None
        self.timing = timing_for(self.hider, sem.po_timing == "per_frame")
        self.drift_components = (knob,) if self.drift is not None else ()
        self._reset_extra = self._extra_keys()

    def _extra_keys(self) -> dict[str, Any]:
        """The Atari keys of ``info["stori"]`` for this profile, at their reset values.

        Every step reports ``frames`` (emulated frames); type 1 adds ``executed_actions`` (one per frame),
        ``replaced_frames`` (frames whose coin fired, whatever it drew) and ``changed_frames`` (frames that
        executed another action than the chosen one); 2.1 adds ``events`` (firings) and
        ``reward_correction`` (what the reward ledger changed). Keys of knobs the profile does not have
        are left out: a vector env batches every key of every step, so each key costs.
        """
        out: dict[str, Any] = {}
        if self.replacer is not None:
            out.update(executed_actions=(), replaced_frames=0, changed_frames=0)
        if self.events is not None:
            out.update(events=0, reward_correction=0.0)
        out["frames"] = 0
        return out

    @property
    def _event(self):
        """The game's 2.1 event (None without one)."""
        return None if self.events is None else self.events.event

    @property
    def _hider(self):
        return self.hider

    # -- construction ---------------------------------------------------------------------------
    def _obs_type(self, obs_type: str | None) -> str:
        t = self.stori_type
        if obs_type is None:
            return "state" if t == "0" else "rgb"
        if obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type: got {obs_type!r}; allowed: " + ", ".join(OBS_TYPES))
        if t == "0" and obs_type in ("rgb", "grayscale"):
            raise ValueError(f"obs_type: got {obs_type!r} with stochasticity_type '0'; allowed: 'state' or 'ram'")
        uses_po = t == "3.2" or (t == "2.2" and self.profile.drift.secondary_concept_type == "3.2")
        if uses_po and obs_type not in ("rgb", "grayscale"):
            raise ValueError(f"obs_type: got {obs_type!r} with partial observation (type 3.2); "
                             "allowed: 'rgb' or 'grayscale'")
        return obs_type

    def _observation_space(self) -> spaces.Space:
        ram_space = spaces.Box(0, 255, (self.emulator.getRAMSize(),), np.uint8)
        if self.obs_type == "ram":
            return ram_space
        if self.obs_type == "state":
            fields = {f.name: spaces.Box(f.low, f.high, (1,), np.int32) for f in self.game.state_fields}
            return spaces.Dict({"ram": ram_space, **fields})
        h, w = self.screen_shape or (HEIGHT, WIDTH)
        if (self.grayscale or self.screen_shape) and importlib.util.find_spec("cv2") is None:
            raise ValueError("grayscale/screen_size: need OpenCV; allowed: install opencv-python-headless, "
                             "or leave grayscale=False and screen_size=None")
        if self.obs_type == "grayscale":
            return spaces.Box(0, 255, (h, w), np.uint8)
        return spaces.Box(0, 255, (h, w, 1) if self.grayscale else (h, w, 3), np.uint8)

    # -- the Gymnasium attributes other wrappers read ----------------------------------------------
    @property
    def _frameskip(self) -> int:
        """ale-py's name for the frame skip (Gymnasium's ``AtariPreprocessing`` checks it is 1)."""
        return self.frameskip

    # -- seeding and reset ----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed, options=options)
        ale = self._emulator()
        self.ale.fresh = False
        for c in self.components:  # before the simulator, as the protocol asks
            c.reseed(seed)
        if seed is not None:
            if self.settings.sticky:
                self.settings.reseed(ale, seed)
            else:
                ale.restoreState(self._power_on)
            self._frame_origin = ale.getFrameNumber()
        ale.reset_game()
        self.ledger.clear()
        self.baseline_ram = ale.getRAM()
        self.frame_in_step = 0
        self.executed_actions = []
        for c in self.components:
            c.on_reset(self)
        altered = False
        if self.obs_type in ("rgb", "grayscale"):
            frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
            ale.getScreenRGB(frame)
            timing = self.timing if self.hider is not None and self.hider.enabled else PLAIN
            altered = timing.on_reset(self, ale, frame)
            obs = self._image(frame, exact_screen=not altered and not hasattr(self.hider, "peek"))
        else:
            obs = self._state()
        if self.hider is not None:
            self.hider.altered = altered
        info = self._info()
        rec = write_info(info, self.stori_type, None, self.components, observation_altered=altered,
                         **self._reset_extra)
        # No action at reset: leave the keys out rather than None, so that a vector env batching a reset
        # (autoreset) next to a step keeps integer arrays, with the "_action" mask saying "absent".
        rec.pop("action", None)
        rec.pop("executed_action", None)
        return obs, info

    # -- stepping -------------------------------------------------------------------------------
    def _check_action(self, action: Any) -> int:
        """The agent's action as an index, checked against the action space before anything else."""
        if type(action) is int or isinstance(action, np.integer):
            a = int(action)
            if 0 <= a < self.action_space.n:
                return a
        elif self.action_space.contains(action):  # 0-d integer arrays, as Gymnasium accepts them
            return int(action)
        raise ValueError(f"action: got {action!r}; allowed: an integer in [0, {self.action_space.n - 1}]")

    def may_end(self) -> bool:
        """Whether this step may end the episode (a RAM peek then keeps a snapshot for the final frame)."""
        ale = self.emulator
        limit = self.settings.max_num_frames_per_episode
        if limit and ale.getEpisodeFrameNumber() + self.frameskip >= limit:
            return True
        return self.game.ending_soon(ale.getRAM(), ale.lives())

    def step(self, action):
        a = self._check_action(action)
        ale, acts, k = self._emulator(), self._actions, self.frameskip
        self.ale.fresh = False
        for c in self.components:  # the drift's clock first, then the knob (type 1 draws a held coin here)
            c.begin_step(a)
        ledger = self.ledger
        ledger.correction = 0.0
        rep, events, hider = self.replacer, self.events, self.hider
        images = self._images
        timing = self.timing if hider is not None and hider.enabled else PLAIN
        if images:
            timing.begin_step(self, ale)
        first_read = self._first_read
        in_frame = timing.in_frame
        self.executed_actions = executed_actions = []
        buffers = self.buffers
        reward = 0.0
        changed = n_read = 0
        altered = over = False
        executed = a
        frame_index = 0
        for frame_index in range(k):
            self.frame_in_step = frame_index
            if rep is not None:
                executed = int(rep.before_action(a))
                changed += executed != a
            executed_actions.append(executed)
            if events is not None:
                events.before_action(executed)
            reads = frame_index >= first_read
            if reads and in_frame:
                timing.before_read(self, ale)
            r = ale.act(acts[executed])
            if ledger.pending:
                r = ledger.settle(r)
            if events is not None:
                r = events.after_frame(executed, r)
            reward += r
            over = ale.game_over()
            if reads or (over and images):  # the episode may end before the pooled frames
                n_read += 1
                self.n_read = n_read
                if timing.read(self, ale, buffers[n_read - 1], over):
                    altered = True
            if over:
                break
        if images:
            frame, altered = timing.finish(self, ale, n_read, over, altered)
            obs = self._image(frame, exact_screen=n_read == 1 and not altered and not timing.moves_screen)
        else:
            obs = self._state()
        if hider is not None:
            hider.altered = altered
        terminated = ale.game_over(with_truncation=False)
        truncated = ale.game_truncated()
        info = self._info()
        # The frame loop knows what it altered: said explicitly (the hider's own record is for hosts that
        # call its on_observation). The family's keys are those of the profile's knob (see _extra_keys).
        if rep is not None:
            write_info(info, self.stori_type, a, self.components, executed_action=executed,
                       observation_altered=altered, executed_actions=tuple(executed_actions),
                       replaced_frames=rep.replaced, changed_frames=changed, frames=frame_index + 1)
        elif events is not None:
            write_info(info, self.stori_type, a, self.components, executed_action=executed,
                       observation_altered=altered, events=events.fired, reward_correction=ledger.correction,
                       frames=frame_index + 1)
        else:
            write_info(info, self.stori_type, a, self.components, executed_action=executed,
                       observation_altered=altered, frames=frame_index + 1)
        return obs, reward, terminated, truncated, info

    # -- observations ---------------------------------------------------------------------------
    def _image(self, frame: np.ndarray, exact_screen: bool = False) -> np.ndarray:
        """Remember ``frame`` (ours, fresh) for render() and convert it to the observation.

        ``exact_screen``: ``frame`` is the emulator's current screen, so ALE's own grayscale can be read.
        """
        self._last_frame = frame
        self.ale.fresh = True
        if self.obs_type == "grayscale":
            out = self.emulator.getScreenGrayscale() if exact_screen else luminance(frame)
        elif self.grayscale:
            import cv2

            out = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        else:
            out = frame
        if self.screen_shape:
            import cv2

            h, w = self.screen_shape
            out = cv2.resize(out, (w, h), interpolation=cv2.INTER_AREA)
        return out[..., None] if self.grayscale else out

    def _state(self) -> np.ndarray | dict[str, np.ndarray]:
        ram = self.emulator.getRAM()
        if self.obs_type == "ram":
            return ram
        out = {"ram": ram}
        for f in self.game.state_fields:
            out[f.name] = np.array([f.read(ram, self.emulator)], dtype=np.int32)
        return out

    def state_labels(self) -> dict[str, str]:
        """What each decoded field of the ``state`` observation means."""
        return {f.name: f.description for f in self.game.state_fields}

    @property
    def ale_actions(self) -> list[Action]:
        """The ALE action of each index of the action space (events read it: e.g. Gopher's shovel)."""
        return self._actions

    @property
    def frame_number(self) -> int:
        """Emulated frames since the last seeded reset (``ALE/<Game>-v5`` reloads the ROM there, which
        restarts ALE's global counter; counting from there keeps seeded runs reproducible)."""
        return self.emulator.getFrameNumber() - self._frame_origin

    def _info(self) -> dict[str, Any]:
        ale = self.emulator
        return {"lives": ale.lives(), "episode_frame_number": ale.getEpisodeFrameNumber(),
                "frame_number": ale.getFrameNumber() - self._frame_origin}

    def render(self) -> np.ndarray | None:
        """The last full-resolution RGB frame the agent got (no new draw, no peek)."""
        if self.render_mode != "rgb_array":
            return None
        if self._last_frame is None:
            return self._emulator().getScreenRGB()
        return self._last_frame.copy()

    def get_action_meanings(self) -> list[str]:
        return [a.name for a in self._actions]

    def _emulator(self):
        if self.emulator is None:
            raise RuntimeError("the environment is closed: make a new one (env.close() released its emulator)")
        return self.emulator

    def close(self) -> None:
        """Release the emulator (and with it the ROM and its snapshots); the env cannot step afterwards."""
        self._last_frame = None
        self.emulator = None
        self._power_on = None
        if isinstance(getattr(self, "ale", None), ObservedALE):
            self.ale._emulator = None
        super().close()

    # -- pickling (as ale-py's AtariEnv: the constructor's arguments, a fresh emulator) -----------------
    def __getstate__(self) -> dict[str, Any]:
        return {"init_kwargs": self._init_kwargs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state["init_kwargs"])
