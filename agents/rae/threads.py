"""Bounded BLAS threading for the RAE solvers, whatever the caller's environment.

The solvers multiply small and medium matrices thousands of times (one best response per player and
iteration). Measured on a loaded 2-core machine (``benchmarks/rae_solver.py --threads``), OpenBLAS with
its default thread count took 57-80 s on a 300 x 300 game that one thread solved in 3.6-4.3 s: the
threads spin and contend with the caller's other work on every small product. So every public entry
point runs under :func:`bounded_blas`, which limits the BLAS pools (threadpoolctl) to
:data:`BLAS_THREADS` for the duration of the call and restores the caller's setting afterwards. Nested
entry points (fictitious play calling the gap) pay for the limit once: about 8 µs per outermost call.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: BLAS threads inside the solvers (one: see the module docstring for the measurement). None leaves the
#: caller's setting alone (only for the side-by-side benchmark).
BLAS_THREADS: int | None = 1

_local = threading.local()
_controller = None


def _limiter():
    """A cached threadpoolctl controller (building one inspects the loaded libraries: ~0.4 ms)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def bounded_blas(func: F) -> F:
    """Run ``func`` with BLAS limited to :data:`BLAS_THREADS` threads (once, at the outermost call)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if getattr(_local, "depth", 0) or BLAS_THREADS is None:
            return func(*args, **kwargs)
        _local.depth = 1
        try:
            with _limiter().limit(limits=BLAS_THREADS, user_api="blas"):
                return func(*args, **kwargs)
        finally:
            _local.depth = 0

    return wrapper  # type: ignore[return-value]


def blas_threads() -> list[int]:
    """The current thread counts of the loaded BLAS libraries (for tests and benchmarks)."""
    from threadpoolctl import threadpool_info

    return [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
