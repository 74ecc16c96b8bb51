"""Stable POSIX identity for servers that run on this machine (or in containers).

Layers inside, pointing one way: :mod:`.names` and :mod:`.numbers` (pure rules) →
:mod:`.registry` (the record of numbers handed out) → :mod:`.accounts`,
:mod:`.directories`, :mod:`.links` (the machine) → :mod:`.identity` (resolution) →
:mod:`.spawners` and :mod:`.hook` (the spawner integration ``setup(c)`` wires in).
Beside them, for people removed from a team: :mod:`.leaving` (pure: which running servers to
stop), :mod:`.carried` (what each server was started with) and :mod:`.leavers` (the check
the hub runs).
"""

from .config import PosixIdentity
from .spawners import PosixLocalProcessSpawner

__all__ = ["PosixIdentity", "PosixLocalProcessSpawner"]
