"""What a person asks for, in KubeSpawner's ``user_options`` spelling: read from the spawn
form (:func:`parse_form`), accepted only if the profiles the person may see offer it
(:func:`check_user_options`, over the list :func:`~.filter.visible_profiles` made), and applied
as overrides (:func:`selected_overrides`, :func:`merge_setting`). Pure, like :mod:`.filter`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PROFILE_KEY = "profile"
# user_options key suffix of a free-text value, KubeSpawner's spelling
UNLISTED_SUFFIX = "--unlisted-choice"
# value of an option's <select> when the person picked "enter my own value"
UNLISTED_SENTINEL = "unlisted-choice"
# form field names: profile-option-<profile slug>--<option name>[--unlisted-choice]
FORM_OPTION_PREFIX = "profile-option-"


class OptionsRefused(Exception):
    """User options that may not be used; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_unlisted(option: Mapping[str, Any], name: str, slug: str, value: str) -> None:
    unlisted = option.get("unlisted_choice")
    if unlisted is None:
        raise OptionsRefused(
            403,
            f"A value of your own for option {name!r} (profile {slug!r}) is not available to "
            f"you. Choices you can use: {_names(option.get('choices') or {})}.",
        )
    regex = unlisted.get("validation_regex")
    # No control characters, whatever the pattern: with re.match (KubeSpawner's semantics, kept
    # so that its configs mean the same here) a pattern ending in ``$`` still lets a trailing
    # newline through, and no image, tag or path needs one.
    if _CONTROL.search(value):
        raise OptionsRefused(
            400,
            f"Value {value!r} for option {name!r} (profile {slug!r}) is not accepted: it "
            "contains a line break or another control character.",
        )
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
