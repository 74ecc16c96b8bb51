"""Async JupyterHub REST client; reads hub state and applies plans."""

from .apply import apply_actions
from .client import HubAPIError, HubClient
from .state import read_groups, read_hub_state, read_plan_state

__all__ = [
    "HubAPIError",
    "HubClient",
    "apply_actions",
    "read_groups",
    "read_hub_state",
    "read_plan_state",
]
