"""The hub-managed sync service: a thin shell around :func:`sync_forever`.

The hub starts it with ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN`` (the service's
least-privilege token) and ``JUPYTERHUB_TEAMS_CONFIG`` (the options ``setup(c)`` validated);
with ``JUPYTERHUB_SERVICE_URL`` it also serves its metrics and, to the hub's admin view, its
status and held-plan decisions (:mod:`.web`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from ..config import JupyterHubTeams
from ..hub import HubClient
from .decisions import HeldPlanDecisions
from .metrics import SyncMetrics
from .status import SyncStatus
from .sync import SyncReport, sync_forever
from .web import serve

log = logging.getLogger("jupyterhub_teams.service")


async def run_service() -> None:
    teams = JupyterHubTeams.from_json(os.environ.get("JUPYTERHUB_TEAMS_CONFIG", "{}"))
    api_url = os.environ["JUPYTERHUB_API_URL"]
    token = os.environ["JUPYTERHUB_API_TOKEN"]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    source = teams.make_source()
    log.info("jupyterhub-teams sync: %s every %.0f s", source, teams.sync_interval)
    metrics = SyncMetrics(type(source).__name__)
    status = SyncStatus(str(source))
    lock = asyncio.Lock()

    def on_report(report: SyncReport) -> None:
        metrics.observe(report)
        status.observe(report)

    service_url = os.environ.get("JUPYTERHUB_SERVICE_URL")
    server = None
    async with HubClient(api_url, token, concurrency=teams.api_concurrency) as client:
        if service_url:
            prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
            decisions = HeldPlanDecisions(client, source, teams.policy(), status, lock, on_report)
            server = serve(metrics, status, decisions, service_url, prefix, api_url, token)
        try:
            await sync_forever(
                client,
                source,
                teams.policy(),
                teams.sync_interval,
                stop,
                share_check_cycles=teams.share_check_cycles,
                on_report=on_report,
                lock=lock,
            )
        finally:
            if server is not None:
                server.stop()


def main() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="[%(levelname).1s %(asctime)s %(name)s] %(message)s",
    )
    # httpx logs every request at INFO; the sync's own lines are the useful ones.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(run_service())
