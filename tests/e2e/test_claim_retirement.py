"""Claim teams retire, end to end: a real OpenID Connect provider (tests/e2e/oidc_provider.js)
in front of the real GenericOAuthenticator, a real hub, proxy, sync service and team servers.

* Every member lost the claim: the person's next login takes them out of the team, then the
  background sync retires it (share revoked, server stopped, record retired; account and files
  kept), and a login with the claim brings it back with its files.
* No member's claim confirmed for ``ClaimGroups.retire_after_days`` (a window of seconds here):
  while the member uses the hub, the authenticator's refreshes keep confirming the claim; once
  they stop, the sync retires the team although the member still has the claim.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Hub, Person, consent_or_lab, team_retired, wait_for, write
from .test_claims import (
    REFUSED,
    STARTED,
    OIDCProvider,
    claims_pre_config,
    generic_oauth_config,
    marker,
    members,
    oauth_login,
    provider_and_hub,
    serving,
    start_as,
)

SECONDS_PER_DAY = 86_400
# The staleness window: long enough for a team server to start while its member keeps using
# the hub (each refresh confirms the claim), short enough to wait for.
WINDOW = 30
REFRESH_AGE = 2


def claims_hub(
    state: Path, users: dict[str, list[str]], refresh_age: int | None = None, **options: object
) -> tuple[Hub, OIDCProvider]:
    hub = Hub(
        state / "hub", sync_interval=2, pre_config=claims_pre_config(path_rule="last", **options)
    )
    provider = OIDCProvider(state / "oidc", users, f"{hub.url}/hub/oauth_callback")
    hub.extra_config = generic_oauth_config(hub, provider, ["openid", "profile", "groups"])
    if refresh_age is not None:
        hub.extra_config += f"c.Authenticator.auth_refresh_age = {refresh_age}\n"
    return hub, provider


def shares_of(hub: Hub, account: str) -> list[object]:
    return list(hub.api("GET", f"shares/{account}/").json()["items"])


def home(hub: Hub, account: str) -> Path:
    return hub.state_dir / "homes" / account


@pytest.fixture
def lost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, OIDCProvider]]:
    hub, provider = claims_hub(tmp_path_factory.mktemp("claims-lost"), {"alice": ["/lab/optics"]})
    with provider_and_hub(hub, provider) as both:
        yield both


def test_a_claim_team_whose_members_all_lost_the_claim_retires_and_comes_back(
    lost: tuple[Hub, OIDCProvider],
) -> None:
    hub, provider = lost
    account = "collab-optics"
    alice = oauth_login(Person(hub, "alice"))
    assert members(hub, "optics") == {"alice"}
    hub.wait_for_sync(lambda: serving(hub, account) and shares_of(hub, account), what="the share")
    assert wait_for(lambda: start_as(alice, account) in STARTED, 30, what="a start")
    wait_for(lambda: hub.server_ready(account), 60, what="the optics team server")
    assert consent_or_lab(alice.open(f"/user/{account}/lab"))
    write(alice, account, "notes.txt", "lens 3 is cracked")

    # an admin takes alice out of /lab/optics at the provider; her next login takes her out
    provider.set_groups("alice", [])
    alice = oauth_login(Person(hub, "alice"))
    assert members(hub, "optics") == set()
    assert "login of alice: joined none, left ['optics']" in hub.log_text()

    # the background sync retires the team it has no member left in
    hub.wait_for_sync(lambda: team_retired(hub, "optics"), what="optics to be retired")
    wait_for(lambda: hub.server_stopped(account), 60, what="the retired team server to stop")
    assert shares_of(hub, account) == []
    record = marker(hub, "optics")
    assert (record["retired"], record["share_scopes"], record["claim"]) == (True, [], "/lab/optics")
    assert "retire team: no member left" in hub.log_text()
    assert hub.api("GET", f"users/{account}").status_code == 200  # the account is kept
    assert (home(hub, account) / "notes.txt").read_text() == "lens 3 is cracked"  # its files too
    assert start_as(alice, account) in REFUSED

    # alice gets the claim back: her login restores the team, the sync gives the share back
    provider.set_groups("alice", ["/lab/optics"])
    alice = oauth_login(Person(hub, "alice"))
    assert members(hub, "optics") == {"alice"} and not team_retired(hub, "optics")
    hub.wait_for_sync(lambda: shares_of(hub, account), what="the share to return")
    hub.wait_for_sync(lambda: marker(hub, "optics")["share_scopes"], what="the record's share")
    assert wait_for(lambda: start_as(alice, account) in STARTED, 30, what="a start")
    wait_for(lambda: hub.server_ready(account), 60, what="the restored team server")
    assert consent_or_lab(alice.open(f"/user/{account}/lab"))
    notes = alice.server_api(account, "GET", "api/contents/notes.txt").json()
    assert notes["content"] == "lens 3 is cracked"
    hub.stop_server(account)


@pytest.fixture
def stale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, OIDCProvider]]:
    hub, provider = claims_hub(
        tmp_path_factory.mktemp("claims-stale"),
        {"bob": ["/lab/field"]},
        refresh_age=REFRESH_AGE,
        retire_after_days=WINDOW / SECONDS_PER_DAY,
    )
    with provider_and_hub(hub, provider) as both:
        yield both


def test_a_claim_team_nobody_confirmed_for_the_window_retires(
    stale: tuple[Hub, OIDCProvider],
) -> None:
    hub, _ = stale
    account = "collab-field"
    bob = oauth_login(Person(hub, "bob"))
    first = marker(hub, "field")["claim_confirmed_at"]

    def using_the_hub() -> bool:
        """A request of bob's: older than auth_refresh_age, his authentication is refreshed,
        which reads his claims again at the provider and confirms the team's."""
        return bob.hub_api("GET", "user").status_code == 200

    hub.wait_for_sync(lambda: using_the_hub() and shares_of(hub, account), what="the share")
    assert wait_for(lambda: start_as(bob, account) in STARTED, 30, what="a start")
    wait_for(lambda: using_the_hub() and hub.server_ready(account), 60, what="the server")
    assert consent_or_lab(bob.open(f"/user/{account}/lab"))
    write(bob, account, "samples.csv", "site,depth\nA,3\n")
    # his refreshes wrote a newer confirmation time (once a tenth of the window had passed)
    wait_for(
        lambda: using_the_hub() and marker(hub, "field")["claim_confirmed_at"] != first,
        WINDOW,
        what="a refresh to confirm the claim",
    )
    assert not team_retired(hub, "field") and members(hub, "field") == {"bob"}

    # bob stops using the hub (he still has the claim): after the window the sync retires it
    wait_for(
        lambda: team_retired(hub, "field"),
        WINDOW + hub.sync_interval * 3 + 30,
        what="field to be retired",
    )
    wait_for(lambda: hub.server_stopped(account), 60, what="the retired team server to stop")
    assert members(hub, "field") == set() and shares_of(hub, account) == []
    record = marker(hub, "field")
    assert (record["retired"], record["claim"]) == (True, "/lab/field")
    assert "retire team: no member's login confirmed its claim for" in hub.log_text()
    assert (home(hub, account) / "samples.csv").read_text() == "site,depth\nA,3\n"

    # his next login (the claim still holds) restores the team
    oauth_login(Person(hub, "bob"))
    assert members(hub, "field") == {"bob"} and not team_retired(hub, "field")
    assert marker(hub, "field")["claim_confirmed_at"] >= record["claim_confirmed_at"]
    hub.wait_for_sync(lambda: shares_of(hub, account), what="the share to return")
