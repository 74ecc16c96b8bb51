"""A profile list checked once, then filtered per viewer with set lookups.

The spawn page and every start filter the same configured list for a different person. Checking
the configuration and copying every entry at each call cost far more than deciding what one
person may see, so the list is *compiled* once — checked (the same checks and messages as
:func:`.filter.checked_visible_profiles`), every ``allowed_groups`` turned into a frozenset —
and each call only tests group sets. What looks the same to everyone who may see it (a choice,
in its default and its non-default form; an ``unlisted_choice``; override dicts) is built once,
read-only (:mod:`.shared`), and shared by every answer; only the containers that differ per
person (the list, each profile, each option and its ``choices``) are new at each call.

Compiled lists are cached by the identity of the configured list (the cache holds the list, so
its identity cannot be reused). A list changed *in place* after its first use is filtered as it
is, but not checked again; profile lists built by a callable are new objects at every call and
always checked.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .filter import (
    ACCESS_KEYS,
    Profile,
    Viewer,
    _copy_entry,
    _mapping,
    _one_default,
    _team_only,
    _text,
    _unlisted,
    checked_visible_profiles,
    default_slugify,
    profile_entries,
)
from .shared import ReadOnlyDict, freeze

_CACHE_SIZE = 8


@dataclass(frozen=True)
class _Entry:
    allowed: frozenset[str] | None
    template: Profile


@dataclass(frozen=True)
class _Choice:
    """A choice as every viewer who may see it gets it: read-only, once as the option's
    default and once not (which one is the default depends on what else the viewer sees)."""

    key: str
    allowed: frozenset[str] | None
    marked_default: bool  # the configured choice says ``default: true``
    as_default: ReadOnlyDict
    not_default: ReadOnlyDict


@dataclass(frozen=True)
class _Option:
    name: str
    base: Profile
    choices: tuple[_Choice, ...]
    unlisted: _Entry | None


@dataclass(frozen=True)
class _Profile:
    allowed: frozenset[str] | None
    team_only: bool
    template: Profile
    options: tuple[_Option, ...] | None  # None: the profile has no profile_options key


def _allowed(entry: Mapping[str, Any]) -> frozenset[str] | None:
    return frozenset(entry["allowed_groups"]) if "allowed_groups" in entry else None


def _sees(allowed: frozenset[str] | None, groups: frozenset[str]) -> bool:
    return allowed is None or not allowed.isdisjoint(groups)


class CompiledProfiles:
    """A checked profile list, ready to be filtered for any viewer."""

    def __init__(
        self,
        profile_list: Any,
        *,
        override_key: str = "spawner_override",
        slugify: Callable[[str], str] = default_slugify,
    ) -> None:
        # every check, with its message, is the uncompiled filter's
        checked_visible_profiles(
            profile_list, Viewer(frozenset()), override_key=override_key, slugify=slugify
        )
        self.override_key = override_key
        profiles = []
        for index, profile in enumerate(profile_entries(profile_list)):
            where = f"profile_list[{index}]"
            template = _shared_values(_copy_entry(profile, where, override_key))
            template["slug"] = _text(profile, "slug", where) or slugify(
                _text(profile, "display_name", where) or ""
            )
            if _text(profile, "display_name", where) is None:
                template["display_name"] = template["slug"]
            options = None
            if "profile_options" in profile:
                raw = _mapping(profile.get("profile_options") or {}, where)
                options = tuple(
                    self._option(name, _mapping(o, where), where) for name, o in raw.items()
                )
                template.pop("profile_options", None)
            profiles.append(
                _Profile(_allowed(profile), _team_only(profile, where), template, options)
            )
        self.profiles = tuple(profiles)
        self.has_team_only = any(p.team_only for p in self.profiles)

    def _option(self, name: str, option: Mapping[str, Any], where: str) -> _Option:
        option_where = f"{where}.profile_options[{name!r}]"
        base = _shared_values(
            {
                key: value
                for key, value in option.items()
                if key not in ACCESS_KEYS and key not in ("choices", "unlisted_choice")
            }
        )
        choices = []
        for key, raw in (_mapping(option.get("choices") or {}, option_where)).items():
            choice = _copy_entry(
                _mapping(raw, option_where, key), option_where, self.override_key, key
            )
            marked = bool(choice.get("default"))
            choices.append(
                _Choice(
                    key,
                    _allowed(raw),
                    marked,
                    freeze({**choice, "default": True}),
                    freeze({**choice, "default": False}),
                )
            )
        unlisted = _unlisted(option, option_where)
        compiled_unlisted = None
        if unlisted is not None:
            template = _copy_entry(unlisted, f"{option_where}.unlisted_choice", self.override_key)
            template.setdefault("display_name_in_choices", "Other...")
            compiled_unlisted = _Entry(_allowed(unlisted), freeze(template))
        return _Option(name, base, tuple(choices), compiled_unlisted)

    def visible_to(self, viewer: Viewer) -> list[Profile]:
        """What :func:`.filter.checked_visible_profiles` returns for ``viewer``."""
        groups = viewer.groups
        only_team = viewer.team_account and self.has_team_only
        visible: list[Profile] = []
        for profile in self.profiles:
            if not _sees(profile.allowed, groups) or profile.team_only != only_team:
                continue
            copied = dict(profile.template)
            if profile.options is not None:
                kept: dict[str, Profile] = {}
                for option in profile.options:
                    # the innermost loop of the spawn page: written out, without calls.
                    # Exactly one default: the first kept choice marked so, else the first.
                    choices: dict[str, Profile] = {}
                    default: _Choice | None = None
                    first: _Choice | None = None
                    for choice in option.choices:
                        allowed = choice.allowed
                        if allowed is not None and allowed.isdisjoint(groups):
                            continue
                        if first is None:
                            first = choice
                        if default is None and choice.marked_default:
                            default = choice
                        choices[choice.key] = choice.not_default
                    unlisted = option.unlisted
                    keep_unlisted = unlisted is not None and _sees(unlisted.allowed, groups)
                    if first is None and not keep_unlisted:
                        continue
                    filtered = dict(option.base)
                    if first is not None:
                        chosen = default or first
                        choices[chosen.key] = chosen.as_default
                        filtered["choices"] = choices
                    if keep_unlisted:
                        assert unlisted is not None
                        filtered["unlisted_choice"] = unlisted.template
                    kept[option.name] = filtered
                copied["profile_options"] = kept
            visible.append(copied)
        _one_default(visible)
        return visible


def _shared_values(entry: Profile) -> Profile:
    """A per-viewer copy template: a plain dict (each answer copies it and may add keys) whose
    values are read-only and shared."""
    return {key: freeze(value) for key, value in entry.items()}


_compiled: OrderedDict[tuple[int, str, int], tuple[Any, CompiledProfiles]] = OrderedDict()


def compiled_profiles(
    profile_list: Any,
    *,
    override_key: str = "spawner_override",
    slugify: Callable[[str], str] = default_slugify,
) -> CompiledProfiles:
    """The compiled form of ``profile_list``, from the cache when this very list was seen."""
    key = (id(profile_list), override_key, id(slugify))
    hit = _compiled.get(key)
    if hit is not None and hit[0] is profile_list:
        _compiled.move_to_end(key)
        return hit[1]
    compiled = CompiledProfiles(profile_list, override_key=override_key, slugify=slugify)
    _compiled[key] = (profile_list, compiled)
    while len(_compiled) > _CACHE_SIZE:
        _compiled.popitem(last=False)
    return compiled


def visible_profiles(
    profile_list: Any,
    viewer: Viewer,
    *,
    override_key: str = "spawner_override",
    slugify: Callable[[str], str] = default_slugify,
) -> list[Profile]:
    """The profiles ``viewer`` may use: filtered, completed and without access keys.

    Same result as :func:`.filter.checked_visible_profiles` (which documents it), computed from
    the compiled list. Raises :class:`.filter.ProfileConfigError` on a malformed list.

    The list, each profile, each ``profile_options`` and each option (with its ``choices``) are
    new for this call. The choices, ``unlisted_choice`` entries and override values in them are
    shared with every other call and read-only: writing to one raises
    :class:`.shared.SharedProfileEntryError`; ``copy.deepcopy`` gives a writable copy.
    """
    compiled = compiled_profiles(profile_list, override_key=override_key, slugify=slugify)
    return compiled.visible_to(viewer)
