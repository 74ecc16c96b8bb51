"""Property tests: over generated nested profile lists, viewers and option dicts, no option the
viewer may not use is ever accepted, and every option they may use is.

The reference below reads the raw configuration directly (who may use which entry), without
the filtered list the implementation builds, and says what a request should resolve to.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from traitlets import Dict, HasTraits, List

from jupyterhub_teams.profiles.compiled import visible_profiles
from jupyterhub_teams.profiles.filter import Viewer, checked_visible_profiles
from jupyterhub_teams.profiles.form import render_form
from jupyterhub_teams.profiles.shared import SharedProfileEntryError
from jupyterhub_teams.profiles.spawner import apply_overrides
from jupyterhub_teams.profiles.user_options import (
    OptionsRefused,
    check_user_options,
    parse_form,
    selected_overrides,
)

GROUPS = ["g0", "g1", "g2", "G0"]
SLUGS = ["p0", "p1", "p2", "p3"]
OPTIONS = ["o0", "o1", "o2"]
CHOICES = ["c0", "c1", "c2"]
SUFFIX = "--unlisted-choice"
SENTINEL = "unlisted-choice"
REGEX = "^ok"
TEXTS = ["ok1", "ok-2", "bad", ""]
EXAMPLES = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def with_access(entry: dict[str, Any], groups: list[str] | None) -> dict[str, Any]:
    if groups is not None:
        entry["allowed_groups"] = groups
    return entry


access = st.none() | st.lists(st.sampled_from(GROUPS), max_size=3, unique=True)
# settings an entry may override: a dict and a list, which a spawner may later change
overrides = st.none() | st.fixed_dictionaries(
    {"environment": st.just({"SIZE": "{value}"}), "volumes": st.just(["/data/{value}"])}
)


def with_overrides(entry: dict[str, Any], settings: dict[str, Any] | None) -> dict[str, Any]:
    if settings is not None:
        entry["spawner_override"] = settings
    return entry


@st.composite
def choices(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(CHOICES), max_size=3, unique=True))
    return {
        key: with_access(
            with_overrides(
                {"display_name": key.upper(), "default": draw(st.booleans())}, draw(overrides)
            ),
            draw(access),
        )
        for key in keys
    }


@st.composite
def options(draw: st.DrawFn) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(OPTIONS), max_size=3, unique=True)):
        option: dict[str, Any] = {"display_name": name}
        listed = draw(choices())
        if listed or draw(st.booleans()):
            option["choices"] = listed
        if draw(st.booleans()):
            unlisted = with_access(
                with_overrides({"enabled": draw(st.booleans())}, draw(overrides)), draw(access)
            )
            if draw(st.booleans()):
                unlisted["validation_regex"] = REGEX
            option["unlisted_choice"] = unlisted
        result[name] = option
    return result


@st.composite
def profile_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    profiles = []
    for slug in draw(st.lists(st.sampled_from(SLUGS), min_size=1, max_size=4, unique=True)):
        profile: dict[str, Any] = {"slug": slug, "display_name": slug.upper()}
        if draw(st.booleans()):
            profile["default"] = True
        if draw(st.booleans()):
            profile["team_only"] = draw(st.booleans())
        if draw(st.booleans()):
            profile["profile_options"] = draw(options())
        profiles.append(with_access(with_overrides(profile, draw(overrides)), draw(access)))
    return profiles


viewers = st.builds(
    Viewer.of, st.lists(st.sampled_from(GROUPS), max_size=4, unique=True), st.booleans()
)
keys = st.sampled_from(
    ["profile", *OPTIONS, *(o + SUFFIX for o in OPTIONS), "p0", "zz", "o0--other"]
)
values = st.sampled_from([*SLUGS, *CHOICES, SENTINEL, *TEXTS, "gpu"]) | st.sampled_from(
    [None, 3, ["c0"]]
)
option_dicts = st.dictionaries(keys, values, max_size=5)


# -- the reference ------------------------------------------------------------------------


def may(entry: dict[str, Any], viewer: Viewer) -> bool:
    return "allowed_groups" not in entry or bool(set(entry["allowed_groups"]) & viewer.groups)


def offered_profiles(config: list[dict[str, Any]], viewer: Viewer) -> list[dict[str, Any]]:
    teams_have_their_own = viewer.team_account and any(p.get("team_only") for p in config)
    return [
        p for p in config if may(p, viewer) and bool(p.get("team_only")) == teams_have_their_own
    ]


def offered_choices(option: dict[str, Any], viewer: Viewer) -> list[str]:
    return [k for k, c in option.get("choices", {}).items() if may(c, viewer)]


def offers_text(option: dict[str, Any], viewer: Viewer) -> bool:
    unlisted = option.get("unlisted_choice")
    return bool(unlisted and unlisted.get("enabled") and may(unlisted, viewer))


def kept_options(profile: dict[str, Any], viewer: Viewer) -> dict[str, dict[str, Any]]:
    return {
        name: option
        for name, option in profile.get("profile_options", {}).items()
        if offered_choices(option, viewer) or offers_text(option, viewer)
    }


def default_of(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return next((e for e in entries if e.get("default")), entries[0])


def reference(
    config: list[dict[str, Any]], viewer: Viewer, opts: dict[str, Any]
) -> dict[str, str] | None:
    """What ``opts`` should resolve to for ``viewer``, or ``None`` if it must be refused."""
    profiles = offered_profiles(config, viewer)
    if not profiles:
        return None
    slug = opts.get("profile")
    if slug is not None and not isinstance(slug, str):
        return None
    if slug:
        matching = [p for p in profiles if p["slug"] == slug]
        if not matching:
            return None
        profile = matching[0]
    else:
        profile = default_of(profiles)
    kept = kept_options(profile, viewer)
    picked: dict[str, str] = {}
    typed: dict[str, str] = {}
    for key, value in opts.items():
        if key == "profile":
            continue
        name = key[: -len(SUFFIX)] if key.endswith(SUFFIX) else key
        if name not in kept:
            return None
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            return None
        if key.endswith(SUFFIX):
            if not offers_text(kept[name], viewer):
                return None
            regex = kept[name]["unlisted_choice"].get("validation_regex")
            if regex and not re.match(regex, value):
                return None
            typed[name] = value
        elif value in offered_choices(kept[name], viewer) or (
            value == SENTINEL and offers_text(kept[name], viewer)
        ):
            picked[name] = value
        else:
            return None
    resolved = {"profile": profile["slug"]}
    for name, option in kept.items():
        if name in typed:
            resolved[name + SUFFIX] = typed[name]
        elif picked.get(name) == SENTINEL:
            return None
        elif name in picked:
            resolved[name] = picked[name]
        else:
            listed = offered_choices(option, viewer)
            if not listed:
                return None
            resolved[name] = default_of([{"key": k, **option["choices"][k]} for k in listed])["key"]
    return resolved


def accepted(config: list[dict[str, Any]], viewer: Viewer, opts: Any) -> dict[str, str] | None:
    try:
        selection = check_user_options(opts, visible_profiles(config, viewer))
    except OptionsRefused as refusal:
        assert refusal.status in (400, 403)
        assert refusal.message
        return None
    return selection.as_user_options()


# -- the properties --------------------------------------------------------------------------


def assert_permitted(
    config: list[dict[str, Any]], viewer: Viewer, resolved: dict[str, str]
) -> None:
    """Whatever was accepted is, entry by entry, something the raw config lets them use."""
    profile = next(p for p in config if p["slug"] == resolved["profile"])
    assert may(profile, viewer)
    assert bool(profile.get("team_only")) == (
        viewer.team_account and any(p.get("team_only") for p in config)
    )
    for key, value in resolved.items():
        if key == "profile":
            continue
        if key.endswith(SUFFIX):
            option = profile["profile_options"][key[: -len(SUFFIX)]]
            assert offers_text(option, viewer)
            regex = option["unlisted_choice"].get("validation_regex")
            assert not regex or re.match(regex, value)
        else:
            assert may(profile["profile_options"][key]["choices"][value], viewer)


@EXAMPLES
@given(profile_lists(), viewers, st.lists(option_dicts, min_size=1, max_size=4))
def test_no_forged_option_is_ever_accepted(
    config: list[dict[str, Any]], viewer: Viewer, requests: list[dict[str, Any]]
) -> None:
    """At least 500 generated option dicts per run (1 to 4 per example), mostly forged."""
    before = copy.deepcopy(config)
    for opts in requests:
        resolved = accepted(config, viewer, opts)
        assert resolved == reference(config, viewer, opts), opts
        if resolved is not None:
            assert_permitted(config, viewer, resolved)
    assert config == before, "the configuration was modified"


@st.composite
def offered_requests(
    draw: st.DrawFn,
) -> tuple[list[dict[str, Any]], Viewer, dict[str, Any]]:
    """A config, a viewer with at least one profile, and options built from what is offered."""
    config = draw(profile_lists())
    viewer = draw(viewers)
    profiles = offered_profiles(config, viewer)
    if not profiles:
        # open the first profile to everyone, so every example has something to choose
        config[0].pop("allowed_groups", None)
        config[0]["team_only"] = viewer.team_account and any(p.get("team_only") for p in config)
        profiles = offered_profiles(config, viewer)
    profile = draw(st.sampled_from(profiles))
    opts: dict[str, Any] = {}
    if draw(st.booleans()) or profile is not default_of(profiles):
        opts["profile"] = profile["slug"]
    for name, option in kept_options(profile, viewer).items():
        listed = offered_choices(option, viewer)
        ways = ["choice"] * bool(listed) + ["text"] * offers_text(option, viewer)
        ways += ["default"] * bool(listed)
        way = draw(st.sampled_from(ways))
        if way == "choice":
            opts[name] = draw(st.sampled_from(listed))
        elif way == "text":
            opts[name + SUFFIX] = draw(st.sampled_from(["ok1", "ok-2"]))
            if draw(st.booleans()):
                opts[name] = SENTINEL
    return config, viewer, opts


@EXAMPLES
@given(offered_requests())
def test_every_offered_combination_is_accepted(
    case: tuple[list[dict[str, Any]], Viewer, dict[str, Any]],
) -> None:
    config, viewer, opts = case
    resolved = accepted(config, viewer, opts)
    assert resolved is not None, opts
    assert resolved == reference(config, viewer, opts)
    assert_permitted(config, viewer, resolved)


class Defaults(HTMLParser):
    """The form data a browser would send without the person changing anything."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._first: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("type") == "radio" and "checked" in a:
            self.data[a["name"]] = [a["value"]]
        elif tag == "input" and a.get("type") == "text":
            self.data[a["name"]] = [a.get("value", "")]
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select:
            self._first.setdefault(self._select, a["value"])
            if "selected" in a:
                self.data[self._select] = [a["value"]]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            self.data.setdefault(self._select, [self._first[self._select]])
            self._select = None


@EXAMPLES
@given(profile_lists(), viewers)
def test_the_forms_defaults_are_accepted(config: list[dict[str, Any]], viewer: Viewer) -> None:
    visible = visible_profiles(config, viewer)
    if not visible:
        return
    form = Defaults()
    form.feed(render_form(visible))
    opts = parse_form(form.data)
    expected = reference(config, viewer, opts)
    assert accepted(config, viewer, opts) == expected
    profile = next(p for p in offered_profiles(config, viewer) if p["slug"] == opts["profile"])
    # only an option that has nothing but a free-text value still needs typing
    needs_typing = any(
        not offered_choices(option, viewer) for option in kept_options(profile, viewer).values()
    )
    assert (expected is None) == needs_typing


@EXAMPLES
@given(profile_lists(), st.lists(viewers, min_size=1, max_size=4))
def test_the_compiled_list_filters_exactly_as_the_checked_filter(
    config: list[dict[str, Any]], people: list[Viewer]
) -> None:
    for viewer in people:  # the same list object: compiled once, then served from the cache
        for key in ("spawner_override", "kubespawner_override"):
            compiled = visible_profiles(config, viewer, override_key=key)
            assert compiled == checked_visible_profiles(config, viewer, override_key=key)


def test_what_each_answer_owns_is_independent_and_what_it_shares_refuses_writes() -> None:
    config = [
        {
            "display_name": "Standard",
            "spawner_override": {"mem_limit": "1G", "volumes": ["/data"]},
            "profile_options": {
                "size": {"choices": {"s": {"spawner_override": {"cpu_limit": 1}}}},
            },
        }
    ]
    pristine = copy.deepcopy(config)
    first = visible_profiles(config, Viewer.of([]))
    # the containers made for this answer are its own
    first[0]["display_name"] = "changed"
    first[0]["profile_options"]["size"]["display_name"] = "changed"
    first[0]["profile_options"]["size"]["choices"]["extra"] = {}
    # the shared entries refuse every kind of write, saying why
    shared = first[0]["profile_options"]["size"]["choices"]["s"]
    writes = [
        lambda: first[0]["spawner_override"].__setitem__("mem_limit", "99G"),
        lambda: first[0]["spawner_override"].update(mem_limit="99G"),
        lambda: first[0]["spawner_override"].pop("mem_limit"),
        lambda: first[0]["spawner_override"]["volumes"].append("/etc"),
        lambda: shared.__setitem__("default", False),
        lambda: shared["spawner_override"].setdefault("cpu_limit", 99),
        lambda: shared["spawner_override"].clear(),
    ]
    for write in writes:
        with pytest.raises(SharedProfileEntryError, match="shared by everyone"):
            write()
    # a deep copy is plain and writable, and changing it changes no later answer
    mine = copy.deepcopy(first)
    assert type(mine[0]["spawner_override"]) is dict
    assert type(mine[0]["spawner_override"]["volumes"]) is list
    mine[0]["spawner_override"]["volumes"].append("/etc")
    mine[0]["profile_options"]["size"]["choices"]["s"]["spawner_override"]["cpu_limit"] = 99
    again = visible_profiles(config, Viewer.of([]))
    assert again == checked_visible_profiles(config, Viewer.of([]))
    assert again[0]["display_name"] == "Standard"
    assert again[0]["spawner_override"] == {"mem_limit": "1G", "volumes": ["/data"]}
    assert config == pristine
    assert json.loads(json.dumps(again)) == again


class SettingsSpawner(HasTraits):
    """The settings a generated override sets, as a spawner holds them."""

    environment = Dict()
    volumes = List()


@EXAMPLES
@given(profile_lists(), viewers, st.data())
def test_using_an_answer_as_the_spawners_do_never_changes_the_next_one(
    config: list[dict[str, Any]], viewer: Viewer, data: st.DataObject
) -> None:
    """The form, the check of a request, the overrides applied to a spawner (which then
    changes its own settings) and KubeSpawner's deep copy leave every later answer as it was."""
    for key in ("spawner_override", "kubespawner_override"):
        before = checked_visible_profiles(config, viewer, override_key=key)
        visible = visible_profiles(config, viewer, override_key=key)
        if not visible:
            continue
        form = Defaults()
        form.feed(render_form(visible))
        with contextlib.suppress(OptionsRefused):
            selection = check_user_options(parse_form(form.data), visible)
            spawner = SettingsSpawner()
            for overrides in selected_overrides(selection, key):
                asyncio.run(apply_overrides(spawner, overrides))
            for setting in ("environment", "volumes"):
                value = getattr(spawner, setting)
                if isinstance(value, dict):
                    value["CHANGED"] = "yes"
                else:
                    value.append("changed")
        kube_copy = copy.deepcopy(visible)  # what KubeSpawner completes and changes
        for profile in kube_copy:
            for option in (profile.get("profile_options") or {}).values():
                for choice in (option.get("choices") or {}).values():
                    choice["default"] = data.draw(st.booleans())
                    choice.setdefault(key, {})["changed"] = True
        assert visible_profiles(config, viewer, override_key=key) == before
