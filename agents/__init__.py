"""Baseline agents of stori-envs behind one interface (:mod:`agents.interface`).

Agents register themselves by name when their module is imported; :func:`import_agents` imports
every module of the suite that defines agents, skipping those whose optional dependencies (torch,
stable-baselines3) are not installed.
"""

from __future__ import annotations

import importlib
import logging

from agents.interface import (
    Agent,
    AgentConfig,
    OfflineAgent,
    OnlineAgent,
    load_agent,
    register_agent,
    registered_agents,
)

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: Modules that define registered agents.
AGENT_MODULES = ("agents.reference", "agents.sb3", "agents.offline", "agents.rae.policy")


def import_agents() -> None:
    """Import every agent module of the suite (each registers its agents)."""
    for name in AGENT_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                raise  # a module of ours is missing: a packaging error, not an optional dependency
            logger.debug("agents from %s unavailable: %s is not installed", name, exc.name)


__all__ = ["Agent", "AgentConfig", "OfflineAgent", "OnlineAgent", "import_agents", "load_agent", "register_agent",
           "registered_agents"]
