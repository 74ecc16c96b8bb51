from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .containers import Engine, start_engine
from .harness import Hub, Person


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """The tests' private Docker engine, for DockerSpawner and as the kubelet's runtime;
    DOCKER_HOST points at it while it runs (hubs started by the tests inherit it)."""
    engines = start_engine()
    running = next(engines)
    saved = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = running.host
    try:
        yield running
    finally:
        if saved is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = saved
        next(engines, None)


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
