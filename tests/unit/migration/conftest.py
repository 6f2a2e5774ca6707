"""The week of real reconcile reports that the cutover tests (history, sign-off, the history page) read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.unit.migration.test_cutover import make_week


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_week(tmp_path_factory.mktemp("week"))


@pytest.fixture
def reports(week: Path, tmp_path: Path) -> Path:
    """A copy of the week each test may sign off and tamper with."""
    return Path(shutil.copytree(week, tmp_path / "reports"))
