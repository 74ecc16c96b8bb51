"""Modules stay small enough to read in one sitting: none of the package's is over 400 lines.

A module that grows past it is split along a real seam (see docs/architecture.md); this test
says which one grew, so the split happens in the change that made it grow.
"""

from __future__ import annotations

from pathlib import Path

import jupyterhub_teams

PACKAGE = Path(jupyterhub_teams.__file__).resolve().parent
LIMIT = 400


def test_no_module_is_over_the_limit() -> None:
    sizes = {
        str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert len(sizes) > 50, sizes  # the package was found
    too_long = {name: lines for name, lines in sizes.items() if lines > LIMIT}
    assert too_long == {}, f"split these along a real seam: {too_long}"
