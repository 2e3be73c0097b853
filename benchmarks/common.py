"""Shared pieces of the benchmark scripts: machine description, timing of interleaved cases, Markdown tables."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def machine_description() -> str:
    """One line naming the CPU, core count, Python and key library versions (recorded with every result)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for mod in ("numpy", "gymnasium", "ale_py"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, " + ", ".join(versions)


def command_line() -> str:
    return "python " + " ".join([sys.argv[0].replace(os.getcwd() + os.sep, "")] + sys.argv[1:])


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@dataclass
class Case:
    """One timed workload: ``run(n)`` performs n units of work (steps or frames) and is timed as a whole."""

    name: str
    run: Callable[[int], None]
    group: str = ""
    unit: str = "steps"


def time_interleaved(cases: list[Case], n: int, repeats: int,
                     clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Seconds per unit of each case, measured round-robin so that all cases share the machine's state.

    Interleaving (case A, B, C, A, B, C, ...) makes ratios between cases robust to drifting load;
    report the best (minimum) of the repeats as the least disturbed measurement. ``clock`` may be
    ``time.process_time`` (CPU time of this process) on a machine shared with other work.
    """
    results: dict[str, list[float]] = {c.name: [] for c in cases}
    for _ in range(repeats):
        for case in cases:
            start = clock()
            case.run(n)
            results[case.name].append((clock() - start) / n)
    return results


def best(times: list[float]) -> float:
    return float(np.min(times))


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def emit(text: str = "") -> None:
    """Write a line of a benchmark's report to standard output (the scripts' product, not logging)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()  # rows show as they are measured, also through a pipe
