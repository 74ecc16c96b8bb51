"""Secrets JupyterHub and oauthlib write at DEBUG stay out of the hub's log."""

from __future__ import annotations

import logging

import pytest

from jupyterhub_teams.integration.log_hygiene import keep_secrets_out_of_hub_log


def test_share_codes_and_authorization_codes_never_reach_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    keep_secrets_out_of_hub_log()
    keep_secrets_out_of_hub_log()  # twice: still one filter
    hub = logging.getLogger("JupyterHub")
    assert len(hub.filters) == 1
    grants = logging.getLogger("oauthlib.oauth2.rfc6749.grant_types.authorization_code")
    # what the hub does to oauthlib's logger at DEBUG
    logging.getLogger("oauthlib").setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        hub.debug("Looking up %s", "sc_secret-share-code")
        hub.debug("Looking up nothing secret")
        grants.debug("Created authorization code grant %r", {"code": "secret-grant"})
        grants.info("an INFO line of oauthlib still goes through")
    assert "sc_secret-share-code" not in caplog.text
    assert "Looking up [secret]" in caplog.text
    assert "secret-grant" not in caplog.text
    assert "still goes through" in caplog.text
