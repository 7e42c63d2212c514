from __future__ import annotations

import pytest

from genesys_es.operators.arguments import flag, number


def test_number_takes_native_numbers_only() -> None:
    assert number(3, "runs", integer=True, minimum=1) == 3
    assert number(0.5, "tolerance") == 0.5
    assert number(None, "target", optional=True) is None
    with pytest.raises(ValueError, match=r"runs must be an integer, got 2\.5"):
        number(2.5, "runs", integer=True)
    with pytest.raises(ValueError, match=r"tolerance must be a number, got '0\.5' \(str\)"):
        number("0.5", "tolerance")
    with pytest.raises(ValueError, match="must be a number"):
        number(True, "tolerance")
    with pytest.raises(ValueError, match="must be a number"):
        number(None, "tolerance")
    with pytest.raises(ValueError, match="runs must be >= 1, got 0"):
        number(0, "runs", integer=True, minimum=1)


def test_flag_takes_booleans_only() -> None:
    assert flag(False, "dry_run") is False
    with pytest.raises(ValueError, match="dry_run must be true or false, got 'false'"):
        flag("false", "dry_run")
