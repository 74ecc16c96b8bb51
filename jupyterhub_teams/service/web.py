"""The sync service's HTTP endpoint: its metrics, for tokens that may read the hub's metrics.

The hub proxies ``/services/<service_name>/`` to the service's ``url``; ``setup(c)`` gives the
service one on the loopback interface. A scraper sends ``Authorization: token <token>`` (or
``Bearer``) with a token holding ``read:metrics``, the scope that guards ``/hub/metrics``;
anything else gets 403 with the reason, and no metric.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from jupyterhub.services.auth import HubAuth
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tornado import httpserver, web
from tornado.log import access_log

from .metrics import SyncMetrics

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


def serve_metrics(
    metrics: SyncMetrics, service_url: str, prefix: str, api_url: str, token: str
) -> httpserver.HTTPServer:
    """Listen on ``service_url``'s host and port; metrics at ``<prefix>metrics``."""
    auth = HubAuth(api_url=api_url, api_token=token, cache_max_age=60)
    app = web.Application(
        [(f"{prefix.rstrip('/')}/metrics", MetricsHandler, {"metrics": metrics, "auth": auth})],
        log_function=log_without_query,
    )
    parts = urlsplit(service_url)
    server = app.listen(parts.port or 80, address=parts.hostname or "127.0.0.1")
    log.info("metrics at %smetrics (%s)", prefix, service_url)
    return server
