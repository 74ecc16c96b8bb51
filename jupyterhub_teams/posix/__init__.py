"""Stable POSIX identity for servers that run on this machine (or in containers).

Layers inside, pointing one way: :mod:`.names` and :mod:`.numbers` (pure rules) →
:mod:`.registry` (the record of numbers handed out) → :mod:`.accounts`,
:mod:`.directories`, :mod:`.links` (the machine) → :mod:`.identity` (resolution) →
:mod:`.spawners` and :mod:`.hook` (the spawner integration ``setup(c)`` wires in).
"""

from .config import PosixIdentity
from .spawners import PosixLocalProcessSpawner

__all__ = ["PosixIdentity", "PosixLocalProcessSpawner"]
