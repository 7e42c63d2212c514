"""Check operator arguments as the DAGs render them natively (``render_template_as_native_obj=True``)."""

from __future__ import annotations

from typing import Any


def number(
    value: Any, name: str, *, minimum: float = 0, integer: bool = False, optional: bool = False
) -> Any:
    """Return ``value`` if it is a number (an int when ``integer``) of at least ``minimum``, else raise.

    :param value: the argument as rendered.
    :param name: the argument's name, for the error message.
    :param minimum: smallest value allowed.
    :param integer: require an integer.
    :param optional: accept None (no value).
    """
    if value is None and optional:
        return None
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def flag(value: Any, name: str, default: bool | None = None) -> bool:
    """Return ``value`` if it is a boolean (``default`` if it is None and a default is given), else raise.

    :param value: the argument as rendered.
    :param name: the argument's name, for the error message.
    :param default: the value of an unset (None) argument; None means it must be set.
    """
    if value is None and default is not None:
        return default
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r} ({type(value).__name__})")
    return value
