"""A sync on an incomplete directory read (a server gone in the middle of it) counts as a
directory read error: such a sync removes nobody, so an alert on the counter is what tells an
admin that people who left keep their teams until the directory is read whole again."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from jupyterhub_teams.service.metrics import SyncMetrics
from jupyterhub_teams.service.sync import SyncReport


def read_errors(metrics: SyncMetrics) -> float:
    text = generate_latest(metrics.registry).decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "jupyterhub_teams_directory_read_errors_total":
                return float(sample.value)
    raise AssertionError("no directory_read_errors_total")


def test_an_incomplete_read_is_counted_and_a_complete_one_is_not() -> None:
    metrics = SyncMetrics("LDAPDirectory", namespace="jupyterhub")
    metrics.observe(SyncReport(seconds=0.1))
    assert read_errors(metrics) == 0
    metrics.observe(SyncReport(incomplete_read=True, seconds=0.1))
    assert read_errors(metrics) == 1
    metrics.observe(SyncReport(error="directory unavailable", directory_unavailable=True))
    assert read_errors(metrics) == 2
