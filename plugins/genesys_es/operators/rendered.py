"""Parse operator arguments after Jinja rendering (numbers and flags may arrive as strings)."""

from __future__ import annotations

from typing import Any

_NONE_TEXTS = ("", "none", "null")


def rendered_number(
    value: Any, name: str, *, minimum: float = 0, integer: bool = False, optional: bool = False
) -> Any:
    """Return a rendered argument as a number, or None for an empty optional one.

    :param value: the rendered value (a number or its text).
    :param name: the argument's name, for the error message.
    :param minimum: smallest value allowed.
    :param integer: parse as an integer.
    :param optional: accept None, "", "None" or "null" as no value.
    """
    if optional and (value is None or (isinstance(value, str) and value.strip().lower() in _NONE_TEXTS)):
        return None
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number, got {value!r}") from exc
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number
