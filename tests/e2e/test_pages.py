"""The Teams and Sharing pages, used as a person would: headless Chromium against a real hub,
real proxy and real single-user servers. Every page is screenshotted into
``artifacts/screenshots/pages-*.png``."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from .browser import chromium, log_in, screenshot
from .harness import Hub, Person, wait_for

# Short, so that the revocation tests wait seconds, not the defaults' tens of seconds.
SHARE_REVOCATION = 3
TEAM_REVOCATION = 3
HOSTILE = "<img src=x onerror=alert(1)>"


class PagesHub(Hub):
    """A demo hub with options that ``setup(c)`` must see (set before ``configure_demo``)."""

    def __init__(self, state_dir: Path, *, before: str = "", base_url: str = "/", **kw: Any):
        super().__init__(state_dir, **kw)
        self.before = before
        self.base_url = base_url
        if base_url != "/":
            self.extra_config += f"\nc.JupyterHub.base_url = {base_url!r}\n"
            self.url = f"{self.url}{base_url.rstrip('/')}"
            self.api_url = f"{self.url}/hub/api"

    def write_config(self) -> Path:
        path = super().write_config()
        path.write_text(self.before + "\n" + path.read_text())
        return path


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    before = f"c.JupyterHubTeams.share_revocation_interval = {SHARE_REVOCATION}\n"
    hub = PagesHub(
        tmp_path_factory.mktemp("pages"),
        before=before,
        sync_interval=2,
        revocation_interval=TEAM_REVOCATION,
    ).start()
    try:
        hub.wait_for_sync(lambda: hub.group("physics"), what="the first sync")
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def xsrf(page: Page) -> str:
    for cookie in page.context.cookies():
        if cookie["name"] == "_xsrf" and cookie["path"].endswith("/hub/"):
            return cookie["value"]
    raise AssertionError("no _xsrf cookie for the hub")


def watch_dialogs(page: Page) -> list[str]:
    """Collect native dialogs (alert, confirm): the pages must never open one."""
    seen: list[str] = []

    def record(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return seen


def into_lab(page: Page) -> None:
    """After following a link to a server: accept the hub's authorization page, wait for
    JupyterLab."""
    page.wait_for_load_state()
    if "oauth2/authorize" in page.url:
        page.click("[type=submit]")
    page.wait_for_selector(".jp-LabShell", timeout=90_000)
    page.wait_for_selector(".jp-Launcher", timeout=30_000)


def shot(page: Page, name: str) -> None:
    """A screenshot with the pointer out of the way (no hover colours)."""
    page.mouse.move(2, 890)
    page.wait_for_timeout(250)
    screenshot(page, name)


def card(page: Page, team: str) -> Any:
    return page.locator(f"section.jht-team[data-team='{team}']")


def test_alice_starts_and_opens_the_physics_server_dave_has_no_team(
    hub: Hub, browser: Browser
) -> None:
    page = log_in(browser, hub.url, "alice")
    dialogs = watch_dialogs(page)
    page.get_by_role("link", name="Teams").click()
    page.wait_for_url("**/hub/teams")
    physics = card(page, "physics")
    expect(physics.locator(".jht-state")).to_have_text("Stopped")
    expect(card(page, "chemistry")).to_be_visible()
    expect(physics.locator(".jht-members")).to_contain_text("bob")
    shot(page, "pages-teams-alice")

    physics.locator("[data-action=start]").click()
    # the hub's progress events arrive while the server starts
    expect(physics.locator(".jht-progress")).to_be_visible()
    physics.locator(".jht-progress-log div").first.wait_for(state="attached", timeout=30_000)
    expect(physics.locator(".jht-progress-log")).to_contain_text("Server requested")
    shot(page, "pages-teams-starting")
    open_button = card(page, "physics").locator("[data-action=open]")
    open_button.wait_for(timeout=60_000)
    expect(card(page, "physics").locator(".jht-state")).to_have_text("Running")
    shot(page, "pages-teams-running")

    open_button.click()
    into_lab(page)
    assert "/user/collab-physics/" in page.url
    shot(page, "pages-team-server-lab")

    # stop it again from the page
    page.goto(f"{hub.url}/hub/teams")
    card(page, "physics").locator("[data-action=stop]").click()
    expect(card(page, "physics").locator(".jht-state")).to_have_text("Stopped", timeout=60_000)
    assert hub.server_stopped("collab-physics")
    assert dialogs == []

    dave = log_in(browser, hub.url, "dave")
    dave.goto(f"{hub.url}/hub/teams")
    expect(dave.locator(".jht-no-teams")).to_be_visible()
    assert dave.locator("section.jht-team").count() == 0
    assert dave.locator("[data-action=start], [data-action=open]").count() == 0
    shot(dave, "pages-teams-dave")


def test_bob_shares_with_an_expiring_link_then_revokes(hub: Hub, browser: Browser) -> None:
    # logged in first: once his server runs, the hub sends him there after login
    bob = log_in(browser, hub.url, "bob")
    owner = Person(hub, "bob").logged_in()
    assert owner.hub_api("POST", "users/bob/server").status_code in (201, 202)
    wait_for(lambda: hub.server_ready("bob"), 60, what="bob's server")
    owner.close()
    dialogs = watch_dialogs(bob)
    bob.get_by_role("link", name="Sharing").click()
    bob.wait_for_url("**/hub/sharing")
    server = bob.locator("section.jht-server[data-owner=bob]")
    expect(server.locator(".jht-nobody")).to_be_visible()
    form = server.locator("form.jht-share-code")
    form.locator("select[name=level]").select_option("use")
    form.locator("select[name=expires_in]").select_option("3600")
    form.locator("[type=submit]").click()
    link = bob.locator(".jht-link").input_value(timeout=10_000)
    assert "/hub/accept-share?code=" in link
    codes = bob.locator("section.jht-server[data-owner=bob] .jht-codes tbody tr")
    expect(codes).to_have_count(1)
    expect(codes.first).to_contain_text("Use")
    shot(bob, "pages-sharing-link")

    carol = log_in(browser, hub.url, "carol")
    carol.goto(link)
    shot(carol, "pages-accept-share")
    carol.get_by_role("button", name="Accept invitation").click()
    into_lab(carol)
    assert "/user/bob/" in carol.url
    shot(carol, "pages-carol-in-bobs-server")

    bob.reload()
    row = bob.locator("section.jht-server[data-owner=bob] tr[data-user=carol]")
    expect(row).to_contain_text("Use")
    shot(bob, "pages-sharing-bob")
    row.locator("[data-action=revoke-user]").click()
    expect(row).to_have_count(0)
    revoked = time.monotonic()
    codes.first.locator("[data-action=delete-code]").click()
    expect(codes).to_have_count(0)
    assert dialogs == []

    contents = f"{hub.url}/user/bob/api/contents"
    wait_for(
        lambda: carol.request.get(contents).status == 403,
        SHARE_REVOCATION + 10,
        what="carol to be refused by bob's server",
    )
    assert time.monotonic() - revoked <= SHARE_REVOCATION + 10
    # the deleted link does not work any more either
    carol.goto(link)
    expect(carol.locator("body")).to_contain_text("Share not found or expired")

    # sharing by name, with the right to share further, then lowered to use only
    by_name = server.locator("form.jht-share-user")
    by_name.locator("input[name=user]").fill("erin")
    by_name.locator("select[name=level]").select_option("reshare")
    by_name.locator("[type=submit]").click()
    erin_row = bob.locator("section.jht-server[data-owner=bob] tr[data-user=erin]")
    expect(erin_row).to_contain_text("Use, start, stop and share")
    erin = log_in(browser, hub.url, "erin")
    erin.goto(f"{hub.url}/hub/sharing")
    expect(erin.locator(".jht-incoming [data-owner=bob]")).to_contain_text("share")
    # erin may manage the shares of bob's server, with at most her own rights
    resharable = erin.locator("section.jht-server[data-owner=bob]")
    expect(resharable.locator("tr[data-user=erin]")).to_be_visible()
    shot(erin, "pages-sharing-reshare")
    by_name = bob.locator("section.jht-server[data-owner=bob] form.jht-share-user")
    by_name.locator("input[name=user]").fill("erin")
    by_name.locator("select[name=level]").select_option("use")
    by_name.locator("[type=submit]").click()
    expect(erin_row.locator("td").nth(1)).to_have_text("Use")
    bob.locator("[data-action=revoke-all]").click()
    bob.locator("[data-action=revoke-all]").click()
    expect(bob.locator("section.jht-server[data-owner=bob] .jht-nobody")).to_be_visible()
    assert hub.api("GET", "shares/bob").json()["items"] == []
    assert dialogs == []
    hub.stop_server("bob")


def test_carol_creates_a_team_and_invites_dave(hub: Hub, browser: Browser) -> None:
    carol = log_in(browser, hub.url, "carol")
    dialogs = watch_dialogs(carol)
    carol.goto(f"{hub.url}/hub/teams")
    carol.fill("#jht-new-team", "Lab Notes")
    carol.get_by_role("button", name="Create team").click()
    team = card(carol, "adhoc-lab-notes")
    expect(team).to_be_visible(timeout=10_000)
    expect(team.locator("tr[data-member=carol]")).to_contain_text("Team admin")
    marker = (hub.group("adhoc-lab-notes") or {})["properties"]["jupyterhub_teams"]
    created_at = marker.pop("created_at")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created_at)
    assert marker == {
        "version": 2,
        "account": "collab-adhoc-lab-notes",
        "source_group": "Lab Notes",
        "origin": "hub",
        "retired": False,
        "share_scopes": [],
        "admins": ["carol"],
        "created_by": "carol",
    }
    assert "collab-adhoc-lab-notes" in (hub.group("jupyterhub-teams-accounts") or {})["users"]

    team.locator("form.jht-invite [type=submit]").click()
    link = team.locator(".jht-link").input_value(timeout=10_000)
    expect(card(carol, "adhoc-lab-notes").locator(".jht-invites tbody tr")).to_have_count(1)
    shot(carol, "pages-teams-adhoc-admin")
    # only a hash of the code is stored
    code = link.split("code=", 1)[1]
    assert code.split(".", 1)[1] not in str(hub.group("adhoc-lab-notes"))

    dave = log_in(browser, hub.url, "dave")
    dave.goto(link)
    expect(dave.locator(".jht-team-name")).to_have_text("adhoc-lab-notes")
    shot(dave, "pages-join")
    dave.get_by_role("button", name="Join adhoc-lab-notes").click()
    dave.wait_for_url("**/hub/teams?joined=adhoc-lab-notes")
    mine = card(dave, "adhoc-lab-notes")
    mine.locator("[data-action=start]").click()
    mine.locator("[data-action=open]").wait_for(timeout=60_000)
    shot(dave, "pages-teams-dave-joined")

    # a member who is not an admin is offered no removal of others, and the hub refuses it
    assert mine.locator("tr[data-member=carol] [data-action=remove]").count() == 0
    expect(mine.locator("tr[data-member=dave] [data-action=leave]")).to_be_visible()
    endpoint = f"{hub.url}/hub/teams/api/teams/adhoc-lab-notes/members/carol"
    refused = dave.request.delete(endpoint, headers={"X-XSRFToken": xsrf(dave)})
    assert refused.status == 403
    assert refused.json()["message"] == (
        "Only the admins of team 'adhoc-lab-notes' can remove other members."
    )
    no_token = dave.request.delete(endpoint)
    assert no_token.status == 403 and "_xsrf" in no_token.json()["message"]
    assert "carol" in (hub.group("adhoc-lab-notes") or {})["users"]

    mine.locator("[data-action=open]").click()
    into_lab(dave)
    assert "/user/collab-adhoc-lab-notes/" in dave.url

    # the invitation was for one person
    erin = log_in(browser, hub.url, "erin")
    erin.goto(link)
    expect(erin.locator(".jht-error")).to_contain_text("has already been used")
    shot(erin, "pages-join-used")

    # the admin removes dave; his next requests to the team server are refused
    carol.reload()
    card(carol, "adhoc-lab-notes").locator("tr[data-member=dave] [data-action=remove]").click()
    expect(card(carol, "adhoc-lab-notes").locator("tr[data-member=dave]")).to_have_count(0)
    contents = f"{hub.url}/user/collab-adhoc-lab-notes/api/contents"
    wait_for(
        lambda: dave.request.get(contents).status == 403,
        TEAM_REVOCATION + 10,
        what="dave to be refused by the team server",
    )
    assert dialogs == []
    hub.stop_server("collab-adhoc-lab-notes")


def test_names_with_html_are_text_under_a_base_url(tmp_path: Path, browser: Browser) -> None:
    directory = tmp_path / "directory.yaml"
    directory.write_text(
        yaml.safe_dump({"users": {"alice": {}, "bob": {}}, "groups": {HOSTILE: ["alice", "bob"]}})
    )
    # two team profiles: the team's server asks which one, so Start goes to the hub's form
    before = (
        "from jupyterhub_teams.profiles.demo import demo_profile_list\n"
        "profiles = demo_profile_list()\n"
        "profiles.append({'slug': 'team-big', 'display_name': 'Big team server',"
        " 'team_only': True})\n"
        "c.JupyterHubTeams.profile_list = profiles\n"
    )
    hub = PagesHub(
        tmp_path / "hub", directory=directory, before=before, base_url="/jh/", sync_interval=2
    ).start()
    team = "img-src-x-onerror-alert-1"
    try:
        hub.wait_for_sync(lambda: hub.group(team), what="the first sync")
        # a retired team, which hub admins see on the page
        hub.api("POST", "users/collab-old-team")
        hub.api("POST", "groups/old-team")
        marker: dict[str, Any] = {"account": "collab-old-team", "source_group": "Old team"}
        marker |= {"origin": "directory", "retired": True}
        hub.api("PUT", "groups/old-team/properties", json={"jupyterhub_teams": marker})

        page = log_in(browser, hub.url, "alice")
        dialogs = watch_dialogs(page)
        page.goto(f"{hub.url}/hub/teams")
        found = card(page, team)
        expect(found.locator(".jht-source")).to_have_text(HOSTILE)
        assert page.locator("img[src=x]").count() == 0
        start = found.locator("[data-action=choose]")
        assert start.get_attribute("href") == f"/jh/hub/spawn/collab-{team}"
        assert page.get_by_role("link", name="Sharing").get_attribute("href") == "/jh/hub/sharing"

        # a team name typed with HTML in it, and a refusal quoting it, stay text
        page.fill("#jht-new-team", "<script>alert(2)</script>")
        page.get_by_role("button", name="Create team").click()
        expect(card(page, "adhoc-script-alert-2-script").locator(".jht-source")).to_have_text(
            "<script>alert(2)</script>"
        )
        created = card(page, "adhoc-script-alert-2-script")
        created.locator("form.jht-add-member input").fill("<img src=y onerror=alert(3)>")
        created.locator("form.jht-add-member [type=submit]").click()
        error = page.locator("#error-dialog .ajax-error")
        expect(error).to_have_text(
            "Could not add <img src=y onerror=alert(3)>: "
            "There is nobody called '<img src=y onerror=alert(3)>' on this hub."
        )
        assert error.locator("*").count() == 0
        shot(page, "pages-error-dialog")
        page.get_by_role("button", name="OK").click()
        expect(page.locator("#error-dialog")).to_be_hidden()
        shot(page, "pages-teams-html-names")
        page.goto(f"{hub.url}/hub/sharing")
        shot(page, "pages-sharing-empty")
        assert dialogs == []

        admin = log_in(browser, hub.url, "admin")
        admin.goto(f"{hub.url}/hub/teams")
        old = admin.locator(".jht-other-teams tr[data-team=old-team]")
        expect(old.locator(".jht-retired")).to_have_text("Retired")
        shot(admin, "pages-teams-admin")
    finally:
        hub.stop()


def test_the_hub_starts_without_a_deprecation_warning_from_jupyterhub_teams(hub: Hub) -> None:
    # the pages are registered by the authenticator (Authenticator.get_handlers), not through
    # JupyterHub.extra_handlers, which warns at every start of every hub that sets it
    alice = Person(hub, "alice").logged_in()
    assert alice.http.get("/hub/teams").status_code == 200  # (the pages are there)
    alice.close()
    log = hub.log_text()
    warnings = [line for line in log.splitlines() if "deprecat" in line.lower()]
    assert warnings == [], warnings
