from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Hub, Person


@pytest.fixture(scope="module")
def demo_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A demo hub on the bundled directory, shared by the tests of one module."""
    with Hub(tmp_path_factory.mktemp("hub")).synced("physics") as hub:
        yield hub


@pytest.fixture
def people(demo_hub: Hub) -> Iterator[dict[str, Person]]:
    """A logged-in session for every demo person."""
    sessions = {
        name: Person(demo_hub, name).logged_in()
        for name in ("alice", "bob", "carol", "dave", "erin")
    }
    yield sessions
    for person in sessions.values():
        person.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent.name == "e2e":
            item.add_marker(pytest.mark.e2e)
