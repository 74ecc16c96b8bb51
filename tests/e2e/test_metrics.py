"""The sync service's metrics, scraped through the hub's proxy as Prometheus would."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from .harness import Hub, Person, wait_for

PATH = "/services/jupyterhub-teams/metrics"


def scrape(hub: Hub, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return httpx.get(f"{hub.url}{PATH}", headers=headers, timeout=10)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_say_the_sync_is_healthy_and_what_it_did(demo_hub: Hub) -> None:
    # after the first sync, which created the demo's three teams
    wait_for(lambda: scrape(demo_hub, demo_hub.admin_token).status_code == 200, 30, what="metrics")
    seen = samples(scrape(demo_hub, demo_hub.admin_token).text)
    prefix = "jupyterhub_teams_"
    assert seen[(f"{prefix}actions_applied_total", (("kind", "create-group"),))] >= 3
    assert seen[(f"{prefix}actions_applied_total", (("kind", "grant-share"),))] >= 3
    # every label value exists from the start, at zero until it happens
    assert seen[(f"{prefix}actions_applied_total", (("kind", "stop-server"),))] == 0
    assert seen[(f"{prefix}directory_read_errors_total", (("source", "YAMLDirectory"),))] == 0
    assert seen[(f"{prefix}removals_held", ())] == 0
    last = seen[(f"{prefix}sync_last_success_timestamp_seconds", ())]
    assert time.time() - 120 < last <= time.time() + 1
    runs = sum(
        value
        for (name, _labels), value in seen.items()
        if name == f"{prefix}sync_duration_seconds_count"
    )
    assert runs >= 1
    # the teams as a later sync read them
    wait_for(
        lambda: (
            samples(scrape(demo_hub, demo_hub.admin_token).text).get(
                (f"{prefix}teams", (("state", "active"),))
            )
            == 3
        ),
        30,
        what="the team count",
    )


def test_metrics_need_a_token_with_read_metrics(demo_hub: Hub) -> None:
    refused = scrape(demo_hub, None)
    assert refused.status_code == 403 and "read:metrics" in refused.json()["message"]
    alice = Person(demo_hub, "alice").logged_in()
    made = alice.hub_api("POST", "users/alice/tokens", json={"note": "metrics?"})
    assert made.status_code in (200, 201), made.text
    refused = scrape(demo_hub, made.json()["token"])
    assert refused.status_code == 403 and "does not hold read:metrics" in refused.json()["message"]
    assert "jupyterhub_teams_" not in refused.text
    alice.close()


def test_the_hub_reports_how_long_logins_spent_on_team_memberships(demo_hub: Hub) -> None:
    bob = Person(demo_hub, "bob").logged_in()
    bob.close()
    metrics = demo_hub.api("GET", "metrics")
    assert metrics.status_code == 200, metrics.text
    seen = samples(metrics.text)
    name = "jupyterhub_teams_login_sync_duration_seconds_count"
    logins = sum(
        value
        for (sample, labels), value in seen.items()
        if sample == name and ("occasion", "login") in labels
    )
    assert logins >= 1
    # every outcome's series is there from the start
    assert (name, (("occasion", "refresh"), ("outcome", "unavailable"))) in seen
