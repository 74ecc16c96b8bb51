"""The zero-to-jupyterhub chart's values as Helm renders them, for the tests that check the
docs' ``values.yaml`` (``unit/test_z2jh_values.py``) and run it (``e2e/test_kubernetes.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "tests" / "z2jh"
DOCS = REPO / "docs" / "kubernetes.md"


def docs_values() -> dict[str, Any]:
    """The ``values.yaml`` block of docs/kubernetes.md."""
    text = DOCS.read_text()
    block = text.split("<!-- z2jh-values:start -->", 1)[1].split("<!-- z2jh-values:end -->")[0]
    return dict(yaml.safe_load(block.strip().removeprefix("```yaml").removesuffix("```")))


def merged(defaults: Any, override: Any) -> Any:
    """Helm's merge of values: maps merge key by key, anything else is replaced."""
    if isinstance(defaults, Mapping) and isinstance(override, Mapping):
        out = dict(defaults)
        for key, value in override.items():
            out[key] = merged(defaults.get(key), value)
        return out
    return override


def rendered(*overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The chart's defaults with the docs' values and then ``overrides`` on top, as
    ``helm install -f docs-values.yaml -f override.yaml ...`` would merge them."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for override in (docs_values(), *overrides):
        values = merged(values, override)
    return dict(values)
