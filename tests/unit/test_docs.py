"""The documentation builds with no warning, and its configuration reference covers every option.

Sphinx turns every warning into an error here (``-W``): a broken link (to an option, too), a
missing page, a service scope or plan action the docs do not explain, or a page naming a
``JupyterHubTeams`` option that does not exist all fail this test.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jupyterhub_teams.config import JupyterHubTeams
from jupyterhub_teams.posix import PosixIdentity

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_docs_build_without_warnings_and_document_every_option(tmp_path: Path) -> None:
    try:
        import myst_parser  # noqa: F401
        import pydata_sphinx_theme  # noqa: F401
        import sphinx  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"the docs cannot be built: {exc} (pip install -e '.[test]')")

    out = tmp_path / "html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"sphinx-build failed ({result.returncode}):\n{result.stdout[-4000:]}"
        f"\n{result.stderr[-8000:]}"
    )

    # the reference pages (autodoc_traits) document every option of both configurables, each
    # with a link target the other pages point at
    documented = (
        (JupyterHubTeams, "config", "jupyterhub_teams.config.JupyterHubTeams"),
        (PosixIdentity, "posix-config", "jupyterhub_teams.posix.PosixIdentity"),
    )
    for cls, page_name, path in documented:
        page = (out / "reference" / f"{page_name}.html").read_text(encoding="utf-8")
        page_text = html.unescape(re.sub(r"<[^>]+>", "", page))
        owner = cls.__name__
        names = cls.class_trait_names(config=True)
        assert names, f"{owner} has no options?"
        for name in names:
            assert cls.class_traits()[name].help.strip(), f"{owner}.{name} has no help text"
            assert f"c.{owner}.{name} = " in page_text, f"{owner}.{name} is missing from the page"
            assert f'id="{path}.{name}"' in page, f"{owner}.{name} has no link target"
