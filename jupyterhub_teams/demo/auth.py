"""The demo's password login: every account's password is ``demo``. Never for production."""

from __future__ import annotations

import hmac
from typing import Any

from jupyterhub.auth import Authenticator
from traitlets import Unicode


class DemoAuthenticator(Authenticator):  # type: ignore[misc]
    """Accepts one shared password for users the hub already knows (and the admin)."""

    password = Unicode("demo", help="The one password every demo account uses.").tag(config=True)

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        given = data.get("password", "")
        if hmac.compare_digest(given.encode(), self.password.encode()):
            return data.get("username", "")
        return None
