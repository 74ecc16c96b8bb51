"""Hub pages: Teams (``/hub/teams``) and Sharing (``/hub/sharing``). See ``docs/pages.md``.

:mod:`.rules` is pure; the handlers run inside the hub. ``setup(c)`` calls
:func:`configure_pages`; nothing here is imported from JupyterHub until the hub loads its
configuration.
"""

from .wiring import (
    CACHE_OPTION,
    PAGES_USER_SCOPES,
    configure_pages,
    make_revocation_step,
    with_pages,
)

__all__ = [
    "CACHE_OPTION",
    "PAGES_USER_SCOPES",
    "configure_pages",
    "make_revocation_step",
    "with_pages",
]
