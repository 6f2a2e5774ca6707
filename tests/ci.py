"""The one definition of "in CI", and the one way a test may skip.

Outside CI a test whose service, shared data or native extension is missing skips with its reason, so a
laptop without PostgreSQL or ``../shared`` can still run the rest. In CI the same absence fails the run:
a green CI must mean every test ran (issue 10, item 16). ``tests/unit/test_test_gate.py`` holds the whole
test tree to this module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

import pytest

#: spellings of ``CI`` that mean "not in CI"; any other non-blank value means CI (CI systems set
#: ``true``, ``1`` or their own name)
NOT_CI = ("", "0", "false", "no", "off")


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this run is CI's, decided from the ``CI`` environment variable."""
    return environ.get("CI", "").strip().lower() not in NOT_CI


def unavailable(reason: str) -> NoReturn:
    """Skip the current test because something it needs is missing; in CI, fail it with the same reason."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: a missing service, shared data or native extension fails the run "
                    "instead of skipping)", pytrace=False)
    pytest.skip(reason)
