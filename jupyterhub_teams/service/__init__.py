"""Background sync: one coroutine per cycle, a loop, and the service process."""

from .sync import SyncReport, sync_forever, sync_once

__all__ = ["SyncReport", "sync_forever", "sync_once"]
