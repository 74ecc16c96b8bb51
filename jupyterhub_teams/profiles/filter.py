"""Group-restricted spawn profiles: which profiles a person sees, and what they may ask for.

Pure functions over the KubeSpawner ``profile_list`` format, shared by every spawner
integration: no I/O, no JupyterHub imports. This module filters the list;
:mod:`.user_options` checks what a person asks for against the filtered list. The rules
(documented in ``docs/profiles.md``):

* ``allowed_groups`` may sit on a profile, on a choice of a profile option and on an option's
  ``unlisted_choice``. Without the key, everyone may use the entry; with it, only members of
  at least one listed group. Group names are compared exactly (case included), as JupyterHub
  stores them.
* ``team_only: true`` marks a profile for team accounts. People never see it; a team account
  sees only team-only profiles when the list has any, and the ordinary ones otherwise.
* An option left with neither a choice nor an unlisted value the viewer may use is removed from
  the profile; the profile itself stays.
* What the viewer may not use is removed from the filtered list, and
  :func:`~.user_options.check_user_options` accepts exactly the user options that the filtered
  list offers. Both spawner paths (the form and the REST API) are validated against the same
  filtered list that the form was drawn from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Profile = dict[str, Any]

OVERRIDE_KEYS = ("spawner_override", "kubespawner_override")
# keys that decide who sees an entry; they never leave this module, so group names do not
# reach the browser
ACCESS_KEYS = frozenset({"allowed_groups", "team_only"})

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class ProfileConfigError(ValueError):
    """The profile list in the hub's configuration is malformed; the message says where."""


@dataclass(frozen=True)
class Viewer:
    """Whose server is being configured: their JupyterHub groups and whether they are a team
    account."""

    groups: frozenset[str]
    team_account: bool = False

    @classmethod
    def of(cls, groups: Iterable[str], team_account: bool = False) -> Viewer:
        return cls(frozenset(groups), team_account)


def default_slugify(text: str) -> str:
    """A slug from a display name: ASCII lower case, runs of other characters become ``-``."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return _NOT_SLUG.sub("-", ascii_only).strip("-")


# -- reading the configuration -------------------------------------------------------------


def profile_entries(profile_list: Any) -> list[Mapping[str, Any]]:
    """The profiles of a list or dict ``profile_list``, in display order.

    A dict is ordered by its keys, as KubeSpawner does; its keys are not slugs.
    """
    if isinstance(profile_list, Mapping):
        return [
            _mapping(profile_list[key], f"profile_list[{key!r}]") for key in sorted(profile_list)
        ]
    if isinstance(profile_list, Sequence) and not isinstance(profile_list, str | bytes):
        return [_mapping(p, f"profile_list[{i}]") for i, p in enumerate(profile_list)]
    raise ProfileConfigError(
        f"profile_list must be a list or a dict of profiles, not {type(profile_list).__name__}"
    )


def _at(where: str, choice: str | None) -> str:
    """Where an entry is, for messages; a choice's path is only built when it is needed."""
    return where if choice is None else f"{where}.choices[{choice!r}]"


def _mapping(value: Any, where: str, choice: str | None = None) -> Mapping[str, Any]:
    if type(value) is dict or isinstance(value, Mapping):
        return value
    raise ProfileConfigError(f"{_at(where, choice)} must be a dict, not {type(value).__name__}")


def _permits(
    entry: Mapping[str, Any], viewer: Viewer, where: str, choice: str | None = None
) -> bool:
    """Whether ``viewer`` may use the entry (no ``allowed_groups``: everyone)."""
    if "allowed_groups" not in entry:
        return True
    groups = entry["allowed_groups"]
    # a bare string would be read as a set of one-letter groups: refuse it rather than guess
    # (the exact-type test first: this runs for every choice of every profile)
    if type(groups) is not list and (
        isinstance(groups, str | bytes) or not isinstance(groups, Iterable)
    ):
        raise ProfileConfigError(
            f"{_at(where, choice)}.allowed_groups must be a list of group names, not "
            f"{groups!r}; remove the key to allow everyone"
        )
    names = groups if type(groups) is list else list(groups)
    for name in names:
        if type(name) is not str or not name:
            raise ProfileConfigError(
                f"{_at(where, choice)}.allowed_groups must hold group names (non-empty "
                f"strings), got {name!r}"
            )
    return not viewer.groups.isdisjoint(names)


def _team_only(profile: Mapping[str, Any], where: str) -> bool:
    value = profile.get("team_only", False)
    if not isinstance(value, bool):
        raise ProfileConfigError(f"{where}.team_only must be true or false, not {value!r}")
    return value


def _overrides(
    entry: Mapping[str, Any], where: str, choice: str | None = None
) -> Mapping[str, Any] | None:
    if OVERRIDE_KEYS[0] not in entry and OVERRIDE_KEYS[1] not in entry:
        return None  # the common case, checked without building anything
    present = [key for key in OVERRIDE_KEYS if key in entry]
    if len(present) > 1:
        raise ProfileConfigError(
            f"{_at(where, choice)} has both spawner_override and kubespawner_override; use one"
        )
    if not present:
        return None
    value = entry[present[0]]
    if value is None:
        return None
    if type(value) is dict or isinstance(value, Mapping):
        return value
    raise ProfileConfigError(
        f"{_at(where, choice)}.{present[0]} must be a dict, not {type(value).__name__}"
    )


def _copy_entry(
    entry: Mapping[str, Any], where: str, override_key: str, choice: str | None = None
) -> Profile:
    """The entry without its access keys, its overrides under ``override_key``."""
    copied = {
        key: value
        for key, value in entry.items()
        if key not in ACCESS_KEYS and key not in OVERRIDE_KEYS
    }
    overrides = _overrides(entry, where, choice)
    if overrides is not None:
        copied[override_key] = dict(overrides)
    return copied


def _text(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise ProfileConfigError(f"{where}.{key} must be a string, not {value!r}")
    return value


def _unlisted(option: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
    """The option's enabled ``unlisted_choice``, checked, or ``None``."""
    unlisted = option.get("unlisted_choice")
    if unlisted is None:
        return None
    unlisted = _mapping(unlisted, f"{where}.unlisted_choice")
    enabled = unlisted.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ProfileConfigError(
            f"{where}.unlisted_choice.enabled must be true or false, not {enabled!r}"
        )
    regex = _text(unlisted, "validation_regex", f"{where}.unlisted_choice")
    if regex:
        try:
            re.compile(regex)
        except re.error as exc:
            raise ProfileConfigError(
                f"{where}.unlisted_choice.validation_regex {regex!r} is not a regular "
                f"expression: {exc}"
            ) from exc
    return unlisted if enabled else None


def _filter_option(
    option: Mapping[str, Any], viewer: Viewer, where: str, override_key: str
) -> Profile | None:
    """The option as ``viewer`` may use it, or ``None`` when nothing of it is left."""
    choices = option.get("choices") or {}
    choices = _mapping(choices, f"{where}.choices")
    kept: dict[str, Profile] = {}
    for key, choice in choices.items():
        if type(key) is not str or not key:
            raise ProfileConfigError(f"{where}.choices keys must be non-empty strings: {key!r}")
        choice = _mapping(choice, where, key)
        if _permits(choice, viewer, where, key):
            kept[key] = _copy_entry(choice, where, override_key, key)
    unlisted = _unlisted(option, where)
    keep_unlisted = unlisted is not None and _permits(unlisted, viewer, f"{where}.unlisted_choice")
    if not kept and not keep_unlisted:
        return None
    filtered = {
        key: value
        for key, value in option.items()
        if key not in ACCESS_KEYS and key not in ("choices", "unlisted_choice")
    }
    if kept:
        _one_default(kept.values())
        filtered["choices"] = kept
    if keep_unlisted:
        assert unlisted is not None
        copied = _copy_entry(unlisted, f"{where}.unlisted_choice", override_key)
        copied.setdefault("display_name_in_choices", "Other...")
        filtered["unlisted_choice"] = copied
    return filtered


def _one_default(entries: Iterable[Profile]) -> None:
    """Exactly one entry is the default: the first one marked so, else the first one."""
    items = list(entries)
    first = next((e for e in items if e.get("default")), items[0] if items else None)
    for entry in items:
        entry["default"] = entry is first


def checked_visible_profiles(
    profile_list: Any,
    viewer: Viewer,
    *,
    override_key: str = "spawner_override",
    slugify: Callable[[str], str] = default_slugify,
) -> list[Profile]:
    """The profiles ``viewer`` may use: filtered, completed and without access keys.

    ``profile_list`` is the configured list or dict (never modified). The result is new dicts
    down to the choices; override dicts are copied one level deep and must be treated as
    read-only. Each profile has a ``slug`` (from its ``display_name`` with ``slugify`` when
    absent), exactly one profile and one choice per option are marked ``default``, and the
    overrides are under ``override_key`` whichever of ``spawner_override`` and
    ``kubespawner_override`` the configuration used. Raises :class:`ProfileConfigError` on a
    malformed list, whatever the viewer may see.
    """
    entries = profile_entries(profile_list)
    team_only = [_team_only(p, f"profile_list[{i}]") for i, p in enumerate(entries)]
    only_team_profiles = viewer.team_account and any(team_only)
    visible: list[Profile] = []
    slugs: set[str] = set()
    for index, profile in enumerate(entries):
        where = f"profile_list[{index}]"
        slug = _text(profile, "slug", where) or ""
        display_name = _text(profile, "display_name", where)
        if not slug:
            if not display_name:
                raise ProfileConfigError(f"{where} needs a slug or a display_name")
            slug = slugify(display_name)
            if not slug:
                raise ProfileConfigError(
                    f"{where}: no slug can be made from display_name {display_name!r}; set one"
                )
        if slug in slugs:
            raise ProfileConfigError(f"{where}: two profiles have the slug {slug!r}")
        slugs.add(slug)
        options = _mapping(profile.get("profile_options") or {}, f"{where}.profile_options")
        for name in options:
            if not isinstance(name, str) or not name:
                raise ProfileConfigError(
                    f"{where}.profile_options keys must be non-empty strings: {name!r}"
                )
        permitted = _permits(profile, viewer, where)
        kind_matches = team_only[index] if only_team_profiles else not team_only[index]
        offered = permitted and kind_matches
        if not offered:
            # still check the rest of the entry, so a mistake shows whoever asks
            for name, option in options.items():
                _filter_option(_mapping(option, f"{where}.{name}"), viewer, where, override_key)
            _overrides(profile, where)
            continue
        copied = _copy_entry(profile, where, override_key)
        copied["slug"] = slug
        if display_name is None:
            copied["display_name"] = slug
        kept_options: dict[str, Profile] = {}
        for name, option in options.items():
            option_where = f"{where}.profile_options[{name!r}]"
            filtered = _filter_option(
                _mapping(option, option_where), viewer, option_where, override_key
            )
            if filtered is not None:
                kept_options[name] = filtered
        if "profile_options" in copied:
            copied["profile_options"] = kept_options
        visible.append(copied)
    _one_default(visible)
    return visible


def validate_profile_list(
    profile_list: Any, *, slugify: Callable[[str], str] = default_slugify
) -> None:
    """Raise :class:`ProfileConfigError` if ``profile_list`` is malformed (for startup checks)."""
    checked_visible_profiles(profile_list, Viewer(frozenset()), slugify=slugify)
