"""Team links in a person's home: the changes by value, and real symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyterhub_teams.posix.links import link_changes, refresh_links

ROOT = "/srv/teams"


def test_nothing_there_nothing_wanted() -> None:
    assert link_changes({}, {}, ROOT) == ([], [])


def test_creates_missing_links() -> None:
    wanted = {"physics": "/srv/teams/physics", "biology": "/srv/teams/biology"}
    assert link_changes({}, wanted, ROOT) == (
        [],
        [("biology", "/srv/teams/biology"), ("physics", "/srv/teams/physics")],
    )


def test_keeps_correct_links() -> None:
    existing = {"physics": "/srv/teams/physics"}
    assert link_changes(existing, {"physics": "/srv/teams/physics"}, ROOT) == ([], [])


def test_removes_links_into_the_root_no_longer_wanted() -> None:
    existing: dict[str, str | None] = {
        "physics": "/srv/teams/physics",
        "chemistry": "/srv/teams/chemistry",
    }
    assert link_changes(existing, {"physics": "/srv/teams/physics"}, ROOT) == (["chemistry"], [])


def test_replaces_a_link_pointing_elsewhere_in_the_root() -> None:
    existing: dict[str, str | None] = {"physics": "/srv/teams/chemistry"}
    assert link_changes(existing, {"physics": "/srv/teams/physics"}, ROOT) == (
        ["physics"],
        [("physics", "/srv/teams/physics")],
    )


def test_removes_a_renamed_team_link() -> None:
    existing: dict[str, str | None] = {"old-name": "/srv/teams/physics"}
    assert link_changes(existing, {"physics": "/srv/teams/physics"}, ROOT) == (
        ["old-name"],
        [("physics", "/srv/teams/physics")],
    )


def test_never_removes_what_is_not_a_link() -> None:
    existing: dict[str, str | None] = {"physics": None, "notes.txt": None}
    # a file or folder of the person's own called "physics" stays; no link replaces it
    assert link_changes(existing, {"physics": "/srv/teams/physics"}, ROOT) == ([], [])


def test_never_removes_links_outside_the_root() -> None:
    existing: dict[str, str | None] = {
        "data": "/data/shared",
        "physics": "/home/alice/my-physics",
        "relative": "../teams/physics",
        "lookalike": "/srv/teams-old/physics",
        "root-itself": "/srv/teams",
    }
    assert link_changes(existing, {"physics": "/srv/teams/physics"}, ROOT) == ([], [])


def test_root_with_a_trailing_slash() -> None:
    existing: dict[str, str | None] = {"chemistry": "/srv/teams/chemistry"}
    assert link_changes(existing, {}, "/srv/teams/") == (["chemistry"], [])
    assert link_changes(existing, {}, "/srv/teams-other") == ([], [])


def test_mixed() -> None:
    existing: dict[str, str | None] = {
        "physics": "/srv/teams/physics",
        "chemistry": "/srv/teams/chemistry",
        "biology": "/srv/teams/physics",
        "own-folder": None,
        "elsewhere": "/data/x",
    }
    wanted = {
        "physics": "/srv/teams/physics",
        "biology": "/srv/teams/biology",
        "maths": "/srv/teams/maths",
        "own-folder": "/srv/teams/own-folder",
    }
    assert link_changes(existing, wanted, ROOT) == (
        ["biology", "chemistry"],
        [("biology", "/srv/teams/biology"), ("maths", "/srv/teams/maths")],
    )


# --- refresh_links, on real folders ----------------------------------------------------------


def links_in(folder: Path) -> dict[str, str | None]:
    return {p.name: os.readlink(p) if p.is_symlink() else None for p in sorted(folder.iterdir())}


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "teams-root"
    for team in ("physics", "chemistry", "biology"):
        (root / team).mkdir(parents=True)
    home = tmp_path / "home" / "alice"
    home.mkdir(parents=True)
    return root, home


def test_refresh_creates_the_folder_and_links(world: tuple[Path, Path]) -> None:
    root, home = world
    folder = home / "teams"
    refresh_links(str(folder), {"physics": f"{root}/physics"}, str(root))
    assert folder.is_dir() and not folder.is_symlink()
    assert links_in(folder) == {"physics": f"{root}/physics"}
    (folder / "physics" / "shared.txt").write_text("through the link")
    assert (root / "physics" / "shared.txt").read_text() == "through the link"


def test_refresh_replaces_and_removes(world: tuple[Path, Path]) -> None:
    root, home = world
    folder = home / "teams"
    folder.mkdir()
    (folder / "chemistry").symlink_to(root / "chemistry")  # left the team
    (folder / "physics").symlink_to(root / "biology")  # wrong target
    (folder / "mine").symlink_to("/elsewhere/mine")  # the person's own link
    (folder / "biology").mkdir()  # the person's own folder
    (folder / "notes.txt").write_text("mine")
    wanted = {
        "physics": f"{root}/physics",
        "biology": f"{root}/biology",
        "maths": f"{root}/maths",
    }
    refresh_links(str(folder), wanted, str(root))
    assert links_in(folder) == {
        "biology": None,
        "maths": f"{root}/maths",
        "mine": "/elsewhere/mine",
        "notes.txt": None,
        "physics": f"{root}/physics",
    }
    assert (folder / "notes.txt").read_text() == "mine"
    # the team directories themselves are untouched
    assert sorted(p.name for p in root.iterdir()) == ["biology", "chemistry", "physics"]


def test_refresh_twice_is_stable(world: tuple[Path, Path]) -> None:
    root, home = world
    folder = home / "teams"
    wanted = {"physics": f"{root}/physics", "chemistry": f"{root}/chemistry"}
    refresh_links(str(folder), wanted, str(root))
    first = {p.name: os.lstat(p).st_ino for p in folder.iterdir()}
    refresh_links(str(folder), wanted, str(root))
    assert {p.name: os.lstat(p).st_ino for p in folder.iterdir()} == first
    refresh_links(str(folder), {}, str(root))
    assert links_in(folder) == {}


def test_refresh_refuses_a_folder_that_is_a_symlink(world: tuple[Path, Path]) -> None:
    root, home = world
    # "teams" in the home points at a directory the person must not be able to change
    target = home.parent / "victim"
    target.mkdir()
    (target / "physics").symlink_to(root / "chemistry")
    (target / "keep.txt").write_text("keep")
    (home / "teams").symlink_to(target)
    with pytest.raises(OSError):
        refresh_links(str(home / "teams"), {"physics": f"{root}/physics"}, str(root))
    assert links_in(target) == {"keep.txt": None, "physics": f"{root}/chemistry"}
    assert (home / "teams").is_symlink()


def test_refresh_refuses_a_dangling_folder_link(world: tuple[Path, Path]) -> None:
    root, home = world
    target = home.parent / "not-yet"
    (home / "teams").symlink_to(target)
    with pytest.raises(OSError):
        refresh_links(str(home / "teams"), {"physics": f"{root}/physics"}, str(root))
    assert not target.exists()
