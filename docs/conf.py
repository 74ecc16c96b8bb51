"""Sphinx configuration of the jupyterhub-teams documentation (MyST Markdown)."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
# Document the code of this checkout, not whatever version happens to be installed.
sys.path.insert(0, str(DOCS.parent))
sys.path.insert(0, str(DOCS / "_ext"))

import jupyterhub_teams  # noqa: E402

project = "jupyterhub-teams"
author = "jupyterhub-teams contributors"
copyright = "jupyterhub-teams contributors"
release = jupyterhub_teams.__version__
version = release

extensions = [
    "myst_parser",
    # the configuration reference, from the options' help text (what JupyterHub uses too)
    "autodoc_traits",
    # the _generated/ snippets: CLI help, naming examples, service scopes, plan actions
    "jupyterhub_teams_docs",
]
# options are documented in the order they are defined in, next to the ones they go with
autodoc_member_order = "bysource"
# A link to an option that does not exist ({py:attr} with a wrong target) is a warning, not
# plain text. Signatures are left without type hints: a configurable's is only (**kwargs), and
# traitlets' annotation of it (t.Any) is no target Sphinx can find.
nitpicky = True
autodoc_typehints = "none"
source_suffix = {".md": "markdown"}
root_doc = "index"
# Names, quotes and dashes in this documentation are literal; do not typeset them.
smartquotes = False
exclude_patterns = ["_build", "_generated", "_ext", "**/*.tmp", ".gitignore"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"jupyterhub-teams {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
