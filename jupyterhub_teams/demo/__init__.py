"""The demo hub: ``jupyterhub-teams demo`` (a real hub, proxy and servers on this machine)."""
