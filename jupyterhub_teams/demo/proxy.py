"""Find configurable-http-proxy, installing it with npm into a cache folder when missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PROXY = "configurable-http-proxy"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jupyterhub-teams"


def find_proxy(install: bool = True) -> list[str]:
    """The proxy command: ``$JUPYTERHUB_TEAMS_PROXY``, on ``PATH``, or in the cache folder.

    With ``install``, a missing proxy is installed with ``npm`` into the cache folder (once).
    """
    explicit = os.environ.get("JUPYTERHUB_TEAMS_PROXY")
    if explicit:
        return [explicit]
    on_path = shutil.which(PROXY)
    if on_path:
        return [on_path]
    cached = cache_dir() / "proxy" / "node_modules" / ".bin" / PROXY
    if cached.exists():
        return [str(cached)]
    if not install:
        raise FileNotFoundError(f"{PROXY} not found on PATH or in {cached.parent}")
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError(
            f"{PROXY} is not installed and npm is missing: install Node.js and npm, "
            f"or `npm install -g {PROXY}`"
        )
    target = cached.parent.parent.parent
    target.mkdir(parents=True, exist_ok=True)
    print(f"Installing {PROXY} into {target} (once)…", flush=True)
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(target), f"{PROXY}@^5"],
        check=True,
    )
    return [str(cached)]
