"""Hub-side surfaces: configuration wiring, login guard, spawn hook."""

from .hub_config import is_team_account, setup

__all__ = ["is_team_account", "setup"]
