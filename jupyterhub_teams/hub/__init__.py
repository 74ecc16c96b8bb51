"""Async JupyterHub REST client; reads hub state and applies plans."""

from .apply import apply_actions
from .audit_read import AuditTargetError, audit_stream
from .client import HubAPIError, HubClient
from .state import read_groups, read_hub_state, read_plan_state

__all__ = [
    "AuditTargetError",
    "HubAPIError",
    "HubClient",
    "apply_actions",
    "audit_stream",
    "read_groups",
    "read_hub_state",
    "read_plan_state",
]
