"""The teams admin view in Chromium, on a real hub with its sync service: sync health, a held
plan rejected then approved (and a stale approval refused) after a real directory change, and
who can reach a team server and why. Screenshots: ``artifacts/screenshots/admin-*.png``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from .browser import chromium, log_in, screenshot
from .harness import Hub, Person, wait_for
from .test_guards import PEOPLE, custom_hub, members, write_directory

EVERYONE = {"members": PEOPLE}
ADMIN = "admin"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def open_admin_view(page: Page, hub: Hub, query: str = "") -> None:
    page.goto(f"{hub.url}/hub/teams/admin{query}")
    page.wait_for_selector("#jht-admin")


def wait_for_held(page: Page, hub: Hub, removals: int) -> str:
    """Reload the view until it shows a held plan of ``removals`` membership removals; its
    fingerprint."""
    reason = f"holding back {removals} membership removal(s)"

    def shown() -> bool:
        open_admin_view(page, hub)
        held = page.locator("#jht-held")
        return held.count() == 1 and reason in held.inner_text()

    wait_for(shown, 60, what=f"a held plan of {removals} removal(s) in the admin view")
    return str(page.get_attribute("#jht-held", "data-fingerprint"))


def test_an_admin_sees_the_sync_and_decides_on_held_removals(
    tmp_path: Path, browser: Browser
) -> None:
    teams = {"physics": EVERYONE, "chemistry": EVERYONE, "biology": EVERYONE, "math": EVERYONE}
    hub = custom_hub(tmp_path / "hub", teams)
    try:
        # a person who is not a hub admin is refused, and has no link to the view
        alice = log_in(browser, hub.url, "alice")
        assert alice.locator("a[href$='teams/admin']").count() == 0
        refused = alice.goto(f"{hub.url}/hub/teams/admin")
        assert refused is not None and refused.status == 403
        assert "for hub admins only" in alice.content()

        page = log_in(browser, hub.url, ADMIN)
        assert page.locator("a[href$='teams/admin']").count() == 1
        open_admin_view(page, hub)
        wait_for(
            lambda: (
                (open_admin_view(page, hub), page.locator("[data-health=healthy]").count())[1] == 1
            ),
            30,
            what="the directory shown as answering",
        )
        assert page.locator("#jht-nothing-held").count() == 1
        assert page.locator("#jht-teams tr[data-team]").count() == 4
        screenshot(page, "admin-healthy")

        # the directory drops three teams' members: 15 removals, held back
        emptied = {"physics": {"members": []}, "chemistry": {"members": []}}
        write_directory(hub.directory, {**emptied, "biology": {"members": []}, "math": EVERYONE})
        first = wait_for_held(page, hub, 15)
        held_text = page.inner_text("#jht-held")
        assert "holding back 15 membership removal(s)" in held_text
        assert "alice" in held_text and "physics" in held_text
        screenshot(page, "admin-held")

        # rejected: nothing is removed, and the view says who rejected it
        page.click("#jht-reject")
        page.wait_for_selector("#jht-done")
        assert "rejected" in page.inner_text("#jht-done")
        assert f"Rejected by {ADMIN}" in " ".join(page.inner_text("#jht-rejected").split())
        wait_for(
            lambda: hub.log_text().count("holding back 15 membership removal(s)") >= 3,
            30,
            what="more syncs holding the rejected plan",
        )
        assert all(members(hub, team) == PEOPLE for team in teams)
        assert f"held removals rejected by {ADMIN}" in hub.log_text()

        # the directory changes while the admin looks at the page: that approval is refused
        open_admin_view(page, hub)
        write_directory(
            hub.directory, {**emptied, "biology": {"members": PEOPLE[3:]}, "math": EVERYONE}
        )
        wait_for(
            lambda: "holding back 13 membership removal(s)" in hub.log_text(),
            30,
            what="the new held plan",
        )
        page.click("#jht-approve")
        page.wait_for_selector("#jht-refused")
        assert "changed since the page was loaded" in page.inner_text("#jht-refused")
        assert all(members(hub, team) == PEOPLE for team in teams)

        # the current plan approved: exactly its removals are carried out
        second = wait_for_held(page, hub, 13)
        assert second != first
        page.click("#jht-approve")
        page.wait_for_selector("#jht-done")
        assert "approved: 13 removal(s) carried out" in " ".join(
            page.inner_text("#jht-done").split()
        )
        assert members(hub, "physics") == members(hub, "chemistry") == []
        assert members(hub, "biology") == PEOPLE[3:]
        assert members(hub, "math") == PEOPLE
        assert f"held removals approved by {ADMIN}: 13 carried out" in hub.log_text()
        assert f"held plan {second[:12]} approved by {ADMIN}" in hub.log_text()
        decisions = page.inner_text("#jht-decisions")
        assert "approved by admin" in decisions and "rejected by admin" in decisions
        screenshot(page, "admin-approved")

        # one team: who can reach its server, and why
        open_admin_view(page, hub, "?team=biology")
        detail = page.locator("#jht-team-detail")
        people = detail.locator("tr[data-person]")
        reasons = {str(row.get_attribute("data-person")): row.inner_text() for row in people.all()}
        assert set(reasons) == {*PEOPLE[3:], ADMIN}
        assert "member of team group biology" in reasons["dave"]
        assert "hub admin" in reasons[ADMIN]
        screenshot(page, "admin-team")
        for context in (alice.context, page.context):
            context.close()
    finally:
        hub.stop()


def test_decisions_need_the_hubs_xsrf_check_and_the_service_answers_only_the_hub(
    tmp_path: Path,
) -> None:
    hub = custom_hub(tmp_path / "hub", {"physics": EVERYONE})
    try:
        admin = Person(hub, ADMIN).logged_in()
        # a form posted from elsewhere carries no XSRF token: the hub refuses it
        forged = admin.http.post(
            "/hub/teams/admin/holds", data={"decision": "approve", "fingerprint": "x" * 64}
        )
        assert forged.status_code == 403
        assert "held plan" not in hub.log_text()
        # the service's status and decisions answer its own token only, not even an admin's
        for method, path in (("GET", "api/status"), ("POST", "api/holds")):
            url = f"{hub.url}/services/jupyterhub-teams/{path}"
            answer = httpx.request(
                method, url, headers={"Authorization": f"token {hub.admin_token}"}, timeout=10
            )
            assert answer.status_code == 403, answer.text
            assert "only the hub's admin view" in answer.json()["message"]
        # with the page's own XSRF token, a decision on nothing held is refused in words
        admin.http.get("/hub/teams/admin")
        token = admin.cookie("_xsrf", "/hub/") or ""
        answer = admin.http.post(
            "/hub/teams/admin/holds",
            data={"decision": "approve", "fingerprint": "x" * 64, "_xsrf": token},
        )
        assert answer.status_code == 302
        assert "nothing+is+held+back+now" in answer.headers["location"]
        admin.close()
    finally:
        hub.stop()
