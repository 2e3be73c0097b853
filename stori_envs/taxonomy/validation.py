"""Field validation shared by every configuration of the package (profiles, simulator configs).

Every check raises ``ValueError("<field>: got <value>; allowed: <what>")``: the field's dotted path,
the value given and what would have been accepted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

# Ids of the original release's yaml defaults that no longer exist (see docs/taxonomy.md).
_STALE_TYPE_IDS = {"4": "stochasticity_type", "5": "secondary_concept_type"}


def shown(value: Any, limit: int = 120) -> str:
    """``repr(value)``, shortened in the middle when longer than ``limit`` (10**400 has 401 digits)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-limit // 4:]} ({len(text)} characters)"


def field_error(path: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{path}: got {shown(value)}; allowed: {allowed}")


def check_type_id(path: str, value: Any, allowed: tuple[str, ...]) -> str:
    """Normalise a type id given as str, int or float (yaml reads ``2.1`` as a float)."""
    if isinstance(value, bool):
        raise field_error(path, value, ", ".join(map(repr, allowed)))
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float) and math.isfinite(value):
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise field_error(path, value, ", ".join(map(repr, allowed)))
    if text not in allowed:
        hint = ""
        if text in _STALE_TYPE_IDS:
            hint = " (a stale numeric id from the original release's yaml defaults)"
        raise field_error(path, value, ", ".join(map(repr, allowed)) + hint)
    return text


def mode_id(path: str, value: Any) -> str:
    """Normalise a mode id: non-negative ints and their decimal strings become canonical strings.

    Named modes (``"reward_cancel"``) pass through; which ids exist is decided by the family.
    """
    if isinstance(value, bool):
        raise field_error(path, value, "a mode id such as '0', '10' or a mode name")
    if isinstance(value, int):
        if value < 0:
            raise field_error(path, value, "a non-negative mode id")
        return str(value)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return str(int(text)) if text.isdigit() else text
    raise field_error(path, value, "a mode id such as '0', '10' or a mode name")


#: Integers above this are refused (no count, index or size of the package comes near it; numbers
#: like 10**400 would otherwise overflow deep inside NumPy or float conversion).
MAX_INT = 2**62


def is_finite_number(value: Any) -> bool:
    """A real number (not bool) that converts to a finite float (10**400 does not: OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_probability(path: str, value: Any) -> float:
    if not is_finite_number(value):
        raise field_error(path, value, "a number in [0, 1]")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise field_error(path, value, "a number in [0, 1]")
    return value


def check_positive_int(path: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_INT:
        raise field_error(path, value, f"an integer >= {minimum} (and <= 2**62)")
    return int(value)


def check_number(path: str, value: Any, lo: float = -math.inf, hi: float = math.inf, *, lo_open: bool = False) -> float:
    """A finite number in [lo, hi] (or (lo, hi] with ``lo_open``), returned as float."""
    ok = is_finite_number(value)
    ok = ok and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        low = f"> {lo}" if lo_open else f">= {lo}"
        raise field_error(path, value, f"a finite number {low}" + (f" and <= {hi}" if math.isfinite(hi) else ""))
    return float(value)


def check_non_negative(path: str, value: Any) -> float:
    return check_number(path, value, 0)


def check_choice(path: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise field_error(path, value, ", ".join(map(repr, allowed)))
    return value


def check_int_tuple(path: str, value: Any, minimum: int = 0) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise field_error(path, value, f"a list of integers >= {minimum}")
    items = tuple(value)
    if not items or any(isinstance(v, bool) or not isinstance(v, int) or not minimum <= v <= MAX_INT for v in items):
        raise field_error(path, value, f"a non-empty list of integers >= {minimum} (and <= 2**62)")
    return tuple(int(v) for v in items)



class ConfigSection:
    """Base of frozen config dataclasses: parsing from a mapping (unknown keys rejected) and ``to_dict``."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, path: str):
        if data is None:
            return cls()
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise field_error(path, data, "a mapping of " + ", ".join(f.name for f in fields(cls)))
        known = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(data) - known, key=str)
        if unknown:
            where = f"{path}.{unknown[0]}" if path else str(unknown[0])
            raise field_error(where, data[unknown[0]], "known keys: " + ", ".join(sorted(known)))
        return cls(**data)

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, ConfigSection):
                out[f.name] = value.to_dict()
            elif isinstance(value, tuple) and value and hasattr(value[0], "to_list"):
                out[f.name] = [item.to_list() for item in value]
            elif isinstance(value, tuple):
                out[f.name] = list(value)
            else:
                out[f.name] = value
        return out


