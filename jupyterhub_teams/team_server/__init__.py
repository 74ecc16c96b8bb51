"""The server side of team servers (runs in the single-user environment, not in the hub)."""
