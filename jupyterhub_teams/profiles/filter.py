"""Group-restricted spawn profiles: which profiles a person sees, and what they may ask for.

Pure functions over the KubeSpawner ``profile_list`` format, shared by every spawner
integration: no I/O, no JupyterHub imports. The rules (documented in ``docs/profiles.md``):

* ``allowed_groups`` may sit on a profile, on a choice of a profile option and on an option's
  ``unlisted_choice``. Without the key, everyone may use the entry; with it, only members of
  at least one listed group. Group names are compared exactly (case included), as JupyterHub
  stores them.
* ``team_only: true`` marks a profile for team accounts. People never see it; a team account
  sees only team-only profiles when the list has any, and the ordinary ones otherwise.
* An option left with neither a choice nor an unlisted value the viewer may use is removed from
  the profile; the profile itself stays.
* What the viewer may not use is removed from the filtered list, and :func:`check_user_options`
  accepts exactly the user options that the filtered list offers. Both spawner paths (the form
  and the REST API) are validated against the same filtered list that the form was drawn from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Profile = dict[str, Any]

PROFILE_KEY = "profile"
# user_options key suffix of a free-text value, KubeSpawner's spelling
UNLISTED_SUFFIX = "--unlisted-choice"
# value of an option's <select> when the person picked "enter my own value"
UNLISTED_SENTINEL = "unlisted-choice"
# form field names: profile-option-<profile slug>--<option name>[--unlisted-choice]
FORM_OPTION_PREFIX = "profile-option-"
OVERRIDE_KEYS = ("spawner_override", "kubespawner_override")
# keys that decide who sees an entry; they never leave this module, so group names do not
# reach the browser
ACCESS_KEYS = frozenset({"allowed_groups", "team_only"})

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class ProfileConfigError(ValueError):
    """The profile list in the hub's configuration is malformed; the message says where."""


class OptionsRefused(Exception):
    """User options that may not be used; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Viewer:
    """Whose server is being configured: their JupyterHub groups and whether they are a team
    account."""

    groups: frozenset[str]
    team_account: bool = False

    @classmethod
    def of(cls, groups: Iterable[str], team_account: bool = False) -> Viewer:
        return cls(frozenset(groups), team_account)


@dataclass(frozen=True)
class Chosen:
    """The value one profile option resolved to: a listed choice or a free-text value."""

    option: str
    choice: str | None = None
    unlisted: str | None = None


@dataclass(frozen=True)
class Selection:
    """Accepted user options: the (filtered) profile and one value per option it has."""

    profile: Mapping[str, Any]
    values: tuple[Chosen, ...]

    @property
    def slug(self) -> str:
        return str(self.profile["slug"])

    def as_user_options(self) -> dict[str, str]:
        """The selection in KubeSpawner's user_options spelling (defaults made explicit)."""
        options: dict[str, str] = {PROFILE_KEY: self.slug}
        for value in self.values:
            if value.unlisted is not None:
                options[value.option + UNLISTED_SUFFIX] = value.unlisted
            elif value.choice is not None:
                options[value.option] = value.choice
        return options


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
    if isinstance(groups, str | bytes) or not isinstance(groups, Iterable):
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


def visible_profiles(
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
    visible_profiles(profile_list, Viewer(frozenset()), slugify=slugify)


# -- checking what was asked for ------------------------------------------------------------


def _names(keys: Iterable[str]) -> str:
    listed = ", ".join(repr(k) for k in keys)
    return listed or "none"


def check_user_options(
    user_options: Any,
    visible: Sequence[Mapping[str, Any]],
    *,
    allow_unknown: bool = False,
    nothing_available: str = "No server profile is available to you.",
) -> Selection:
    """Accept ``user_options`` if ``visible`` (from :func:`visible_profiles`) offers them.

    ``user_options`` is in KubeSpawner's spelling: ``profile`` (a slug; missing or empty means
    the default profile), ``<option>`` (a choice key) and ``<option>--unlisted-choice`` (a
    free-text value). Missing or empty option values mean the option's default choice. Keys
    other than these are refused unless ``allow_unknown`` (another hook handles them).

    Raises :class:`OptionsRefused`: 403 for something that is not available to the viewer
    (whether hidden or nonexistent, so that refusals do not reveal what others can use),
    400 for malformed values.
    """
    if not isinstance(user_options, Mapping):
        raise OptionsRefused(400, "user_options must be an object")
    if not visible:
        raise OptionsRefused(403, nothing_available)
    slug = user_options.get(PROFILE_KEY)
    if slug is not None and not isinstance(slug, str):
        raise OptionsRefused(400, f"profile must be a string (a profile slug), not {slug!r}")
    if slug:
        profile = next((p for p in visible if p["slug"] == slug), None)
        if profile is None:
            raise OptionsRefused(
                403,
                f"Profile {slug!r} is not available to you. "
                f"Profiles you can use: {_names(p['slug'] for p in visible)}.",
            )
    else:
        profile = next((p for p in visible if p.get("default")), visible[0])
    slug = str(profile["slug"])
    options: Mapping[str, Mapping[str, Any]] = profile.get("profile_options") or {}

    choices: dict[str, str] = {}
    unlisted: dict[str, str] = {}
    for key, value in user_options.items():
        if key == PROFILE_KEY:
            continue
        is_unlisted = isinstance(key, str) and key.endswith(UNLISTED_SUFFIX)
        name = key[: -len(UNLISTED_SUFFIX)] if is_unlisted else key
        option = options.get(name)
        if option is None:
            if allow_unknown:
                continue
            raise OptionsRefused(
                403,
                f"{key!r} is not an option you can set for profile {slug!r}. "
                f"Options you can set: {_names(options)}.",
            )
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise OptionsRefused(400, f"Option {key!r} must be a string, not {value!r}")
        if is_unlisted:
            _check_unlisted(option, name, slug, value)
            unlisted[name] = value
        else:
            listed = option.get("choices") or {}
            if value not in listed and not (
                value == UNLISTED_SENTINEL and "unlisted_choice" in option
            ):
                raise OptionsRefused(
                    403,
                    f"Choice {value!r} of option {name!r} (profile {slug!r}) is not available "
                    f"to you. Choices you can use: {_names(listed)}"
                    + (", or a value of your own." if "unlisted_choice" in option else "."),
                )
            choices[name] = value

    values: list[Chosen] = []
    for name, option in options.items():
        if name in unlisted:
            values.append(Chosen(name, unlisted=unlisted[name]))
            continue
        choice = choices.get(name)
        if choice == UNLISTED_SENTINEL and UNLISTED_SENTINEL not in (option.get("choices") or {}):
            raise OptionsRefused(
                400, f"Enter a value of your own for option {name!r} (profile {slug!r})."
            )
        if choice is None:
            choice = next(
                (k for k, c in (option.get("choices") or {}).items() if c.get("default")), None
            )
            if choice is None:
                raise OptionsRefused(
                    400, f"Option {name!r} of profile {slug!r} needs a value of your own."
                )
        values.append(Chosen(name, choice=choice))
    return Selection(profile, tuple(values))


def _check_unlisted(option: Mapping[str, Any], name: str, slug: str, value: str) -> None:
    unlisted = option.get("unlisted_choice")
    if unlisted is None:
        raise OptionsRefused(
            403,
            f"A value of your own for option {name!r} (profile {slug!r}) is not available to "
            f"you. Choices you can use: {_names(option.get('choices') or {})}.",
        )
    regex = unlisted.get("validation_regex")
    # re.match, as KubeSpawner does: anchored at the start; admins anchor the end with $
    if regex and not re.match(regex, value):
        hint = unlisted.get("validation_message") or f"it must match {regex!r}"
        raise OptionsRefused(
            400, f"Value {value!r} for option {name!r} (profile {slug!r}) is not accepted: {hint}"
        )


# -- applying a selection -------------------------------------------------------------------


def selected_overrides(
    selection: Selection, override_key: str = "spawner_override"
) -> list[Mapping[str, Any]]:
    """The overrides a selection applies, in order: the profile's, then each option's value's
    (a free-text value substituted for ``{value}`` in its override's strings)."""
    ordered: list[Mapping[str, Any]] = []
    own = selection.profile.get(override_key)
    if own:
        ordered.append(own)
    options: Mapping[str, Mapping[str, Any]] = selection.profile.get("profile_options") or {}
    for value in selection.values:
        option = options[value.option]
        if value.unlisted is not None:
            overrides = option["unlisted_choice"].get(override_key) or {}
            ordered.append(substitute_value(overrides, value.unlisted))
        else:
            assert value.choice is not None
            ordered.append(option["choices"][value.choice].get(override_key) or {})
    return [o for o in ordered if o]


def substitute_value(template: Any, value: str) -> Any:
    """``template`` with the literal ``{value}`` replaced by ``value`` in every string (keys
    included). Plain replacement, not ``str.format``: the person's text is never interpreted."""
    if isinstance(template, str):
        return template.replace("{value}", value)
    if isinstance(template, Mapping):
        return {substitute_value(k, value): substitute_value(v, value) for k, v in template.items()}
    if isinstance(template, list | tuple):
        return type(template)(substitute_value(item, value) for item in template)
    return template


def merge_setting(current: Any, new: Any) -> Any:
    """How an override meets a setting: dicts merge recursively (``None`` deletes a key);
    anything else replaces. Returns new dicts; ``current`` is not modified."""
    if isinstance(new, Mapping) and isinstance(current, Mapping):
        merged = dict(current)
        for key, value in new.items():
            if value is None:
                merged.pop(key, None)
            elif isinstance(value, Mapping):
                merged[key] = merge_setting(merged.get(key, {}), value)
            else:
                merged[key] = value
        return merged
    if isinstance(new, Mapping):
        return merge_setting({}, new)
    return new


# -- the spawn form -------------------------------------------------------------------------


def parse_form(formdata: Mapping[str, Sequence[Any]]) -> dict[str, str]:
    """User options from the spawn form's (or ``/hub/spawn`` query's) fields.

    Reads ``profile`` and the selected profile's ``profile-option-<slug>--<option>`` fields,
    like KubeSpawner. When an option's select says "enter my own value", the text field's
    value is used; when it names a listed choice, a leftover text field is ignored. Other
    fields are ignored.
    """
    slug = _first(formdata.get(PROFILE_KEY))
    if not slug:
        return {}
    options: dict[str, str] = {PROFILE_KEY: slug}
    prefix = f"{FORM_OPTION_PREFIX}{slug}--"
    for key, values in formdata.items():
        if key.startswith(prefix):
            value = _first(values)
            if value:
                options[key[len(prefix) :]] = value
    for key in [k for k in options if k.endswith(UNLISTED_SUFFIX)]:
        name = key[: -len(UNLISTED_SUFFIX)]
        if name in options and options[name] != UNLISTED_SENTINEL:
            del options[key]
    for name in [k for k, v in options.items() if v == UNLISTED_SENTINEL]:
        if name + UNLISTED_SUFFIX in options:
            del options[name]
    return options


def _first(values: Sequence[Any] | None) -> str:
    if not values:
        return ""
    value = values[0]
    return value if isinstance(value, str) else ""
