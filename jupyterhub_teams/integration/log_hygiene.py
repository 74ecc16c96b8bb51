"""Keep secrets that JupyterHub and oauthlib write at DEBUG out of the hub's log.

At ``log_level = "DEBUG"`` the hub writes a share code as it is redeemed (``AcceptShareHandler``:
"Looking up <code>") and oauthlib, whose logger the hub attaches to its own at the hub's
level, writes every authorization code it issues to a single-user server ("Created
authorization code grant {'code': ...}", "Saving grant ..."). Each is a working credential for
as long as it lives. ``setup(c)`` installs what is below in the hub process; both are idempotent.
"""

from __future__ import annotations

import logging

HUB_LOGGER = "JupyterHub"
# The hub sets the level of "oauthlib" only; a level set on this child stays, and the grant
# modules below it log their codes at DEBUG.
OAUTH2_LOGGER = "oauthlib.oauth2"
REDACTED = "[secret]"


class ShareCodeRedaction(logging.Filter):
    """Replaces the code in the hub's "Looking up <share code>" line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Looking up %s" and record.args:
            record.args = (REDACTED,)
        return True


def keep_secrets_out_of_hub_log() -> None:
    hub_log = logging.getLogger(HUB_LOGGER)
    if not any(isinstance(f, ShareCodeRedaction) for f in hub_log.filters):
        hub_log.addFilter(ShareCodeRedaction())
    oauth2 = logging.getLogger(OAUTH2_LOGGER)
    if oauth2.level == logging.NOTSET or oauth2.level < logging.INFO:
        oauth2.setLevel(logging.INFO)
