"""The sync service's HTTP endpoints: its metrics, and its status and held-plan decisions
for the hub's admin view.

The hub proxies ``/services/<service_name>/`` to the service's ``url``; ``setup(c)`` gives the
service one on the loopback interface. A scraper sends ``Authorization: token <token>`` (or
``Bearer``) with a token holding ``read:metrics``, the scope that guards ``/hub/metrics``;
anything else gets 403 with the reason, and no metric.

``api/status`` and ``api/holds`` answer only the hub itself: the request must carry the
service's own API token, which the hub generated and nobody else holds (the admin view checks
that its visitor is a hub admin, and says who decided).
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from jupyterhub.services.auth import HubAuth
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tornado import httpserver, web
from tornado.log import access_log

from .decisions import HeldPlanDecisions
from .metrics import SyncMetrics
from .status import DecisionRefused, SyncStatus

log = logging.getLogger("jupyterhub_teams.service")

METRICS_SCOPE = "read:metrics"


class MetricsHandler(web.RequestHandler):
    def initialize(self, metrics: SyncMetrics, auth: HubAuth) -> None:
        self.metrics = metrics
        self.auth = auth

    async def get(self) -> None:
        token = self.auth.get_token(self, in_cookie=False)
        if not token:
            raise web.HTTPError(403, reason=f"a token with {METRICS_SCOPE} is needed")
        model = await self.auth.user_for_token(token, sync=False)
        if not model or not self.auth.check_scopes({METRICS_SCOPE}, model):
            raise web.HTTPError(403, reason=f"this token does not hold {METRICS_SCOPE}")
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.write(generate_latest(self.metrics.registry))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish({"status": status_code, "message": self._reason})


class HubOnlyHandler(web.RequestHandler):
    """Answers only requests carrying the service's own token (the hub's admin view)."""

    def initialize(self, token: str, status: SyncStatus, decisions: HeldPlanDecisions) -> None:
        self.token, self.status, self.decisions = token, status, decisions

    def prepare(self) -> None:
        given = self.request.headers.get("Authorization", "").partition(" ")[2].strip()
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            raise web.HTTPError(403, reason="only the hub's admin view may ask this")

    def check_xsrf_cookie(self) -> None:
        """A token in a header, never a cookie: nothing for a forged form to ride on."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish({"status": status_code, "message": self._reason})


class StatusHandler(HubOnlyHandler):
    def get(self) -> None:
        self.finish(self.status.to_json())


class HoldsHandler(HubOnlyHandler):
    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            decision, fingerprint, by = body["decision"], body["fingerprint"], body["by"]
        except (ValueError, KeyError, TypeError):
            raise web.HTTPError(
                400, reason="a decision, the plan's fingerprint and who decides are needed"
            ) from None
        try:
            if decision == "approve":
                result = await self.decisions.approve(str(fingerprint), str(by))
            elif decision == "reject":
                result = self.decisions.reject(str(fingerprint), str(by))
            else:
                raise web.HTTPError(400, reason="the decision is 'approve' or 'reject'")
        except DecisionRefused as exc:
            raise web.HTTPError(409, reason=str(exc)) from None
        self.finish({"verdict": result.verdict, "actions": result.actions, "by": result.by})


def log_without_query(handler: web.RequestHandler) -> None:
    """Tornado's access log line without the query string: a client that puts its token in
    the address (``?token=...``, refused here) must not have it written to the log."""
    status = handler.get_status()
    level = access_log.info if status < 400 else access_log.warning
    request = handler.request
    milliseconds = 1000.0 * request.request_time()
    level(
        "%d %s %s (%s) %.2fms",
        status,
        request.method,
        request.path,
        request.remote_ip,
        milliseconds,
    )


def serve(
    metrics: SyncMetrics,
    status: SyncStatus,
    decisions: HeldPlanDecisions,
    service_url: str,
    prefix: str,
    api_url: str,
    token: str,
) -> httpserver.HTTPServer:
    """Listen on ``service_url``'s host and port: ``<prefix>metrics``, ``<prefix>api/status``
    and ``<prefix>api/holds``."""
    auth = HubAuth(api_url=api_url, api_token=token, cache_max_age=60)
    base = prefix.rstrip("/")
    hub_only = {"token": token, "status": status, "decisions": decisions}
    app = web.Application(
        [
            (f"{base}/metrics", MetricsHandler, {"metrics": metrics, "auth": auth}),
            (f"{base}/api/status", StatusHandler, hub_only),
            (f"{base}/api/holds", HoldsHandler, hub_only),
        ],
        log_function=log_without_query,
    )
    parts = urlsplit(service_url)
    server = app.listen(parts.port or 80, address=parts.hostname or "127.0.0.1")
    log.info("metrics at %smetrics (%s)", prefix, service_url)
    return server
