"""A copy of the session workspace with a custom ``stage_map.yml``, built by ``cx journeys``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cxlib import journeys

from ..conftest import _built_once

#: Shorter inactivity windows than the default (60 / 120 / 120 days): they move many customers.
CUSTOM_STAGE_MAP = "inactivity:\n  at_risk_days: 20\n  churned_days: 45\n  lost_days: 45\n"


@pytest.fixture(scope="session")
def custom_map_workspace(tmp_path_factory, workspace):
    """The session workspace copied, with ``stage_map.yml`` (at_risk 20, churned and lost 45 days), journeys built.

    Two modules read it (test_behind, test_stage_once): built once for the run (see ``_built_once``).
    """

    def build(folder: Path) -> None:
        shutil.copytree(workspace, folder, dirs_exist_ok=True)
        (folder / "stage_map.yml").write_text(CUSTOM_STAGE_MAP)
        journeys.build(folder)

    return _built_once(tmp_path_factory, "custom-map", build)
