"""The web tests share one world per session (building it hashes a dozen passwords)."""

from __future__ import annotations

import pytest
from web_world import World, build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The demo's organisations, people and contracts behind a workbench in memory."""
    return build_world(tmp_path_factory.mktemp("web"))
