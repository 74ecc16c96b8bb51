"""The ``values.yaml`` of docs/kubernetes.md is valid for the zero-to-jupyterhub chart: merged
with the chart's defaults (as Helm does), it passes the chart's ``values.schema.yaml``."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml

from ..chart_values import CHART, docs_values, rendered


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return dict(yaml.safe_load((CHART / "values.schema.yaml").read_text()))


def values() -> dict[str, Any]:
    return rendered()


def test_the_docs_values_pass_the_charts_schema(schema: dict[str, Any]) -> None:
    jsonschema.validate(values(), schema)


def test_the_schema_would_catch_a_mistake(schema: dict[str, Any]) -> None:
    wrong = values()
    wrong["hub"]["extraConfig"] = ["setup(c) as a list instead of a map"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)


def test_the_values_call_setup_last_and_restrict_profiles() -> None:
    docs = docs_values()
    extra = docs["hub"]["extraConfig"]
    assert "jupyterhub_teams.setup(c)" in extra[max(extra)]  # the last key runs last
    profiles = {p["slug"]: p for p in docs["singleuser"]["profileList"]}
    assert profiles["gpu"]["allowed_groups"] == ["gpu-users"]
    assert profiles["team"]["team_only"] is True
    large = profiles["standard"]["profile_options"]["memory"]["choices"]["large"]
    assert large["allowed_groups"] == ["physics"]
