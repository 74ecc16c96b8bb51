"""Group-restricted profiles on a running hub: who is asking, and enforcement at spawn time.

``configure_profiles(c, teams)`` (called by ``setup(c)``) picks the integration:

* ``c.KubeSpawner.profile_list`` configured (z2jh's ``singleuser.profileList``): KubeSpawner
  keeps its own form and loading and gets the filtered list (:mod:`.kubespawner`).
* ``c.JupyterHubTeams.profile_list`` configured: any other spawner (LocalProcessSpawner,
  SystemdSpawner, DockerSpawner, …) gets a form, form parsing and ``apply_user_options`` from
  here, all set on ``c.Spawner``; overrides are applied to the spawner's own settings.

Enforcement lives in ``Spawner.apply_user_options``, which JupyterHub (5.3+) runs for every
start — form, ``/hub/spawn`` query, REST API, and options saved earlier — after the options are
known and before anything is started. A refusal is a ``tornado.web.HTTPError`` whose message
reaches the API caller and the form page.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tornado import web

from .compiled import visible_profiles
from .filter import (
    Profile,
    ProfileConfigError,
    Viewer,
    default_slugify,
    validate_profile_list,
)
from .form import render_form, render_unavailable
from .shared import thaw
from .user_options import (
    OptionsRefused,
    check_user_options,
    merge_setting,
    parse_form,
    selected_overrides,
)

if TYPE_CHECKING:
    from ..config import JupyterHubTeams

Hook = Callable[..., Any]


async def maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def viewer_for(user: Any, teams: JupyterHubTeams) -> Viewer:
    """The viewer for a JupyterHub user (wrapper or orm).

    A team account also counts as a member of its own team's group, so ``allowed_groups`` can
    single out the servers of particular teams.
    """
    groups = {g.name for g in getattr(user, "groups", [])}
    team = teams.team_served_by(user)
    if team is not None:
        groups.add(team)
    return Viewer(frozenset(groups), team_account=team is not None)


def nothing_available(user: Any, teams: JupyterHubTeams) -> str:
    """Why someone gets no profile, in words they can act on."""
    if teams.is_team_account(user):
        return (
            f"No server profile is available to the team account {user.name!r}. "
            "The hub administrator can add one (team_only: true)."
        )
    return (
        "No server profile is available to your account: profiles are offered to groups, and "
        "none of your groups has one. Ask your hub administrator for access."
    )


class ProfileRefusal(web.HTTPError):
    """An HTTPError carrying its message the way JupyterHub relays it: the JSON ``message``
    for the API, the error line on the spawn form, the text of the error page (JupyterHub
    replaces a failed spawn's reason with a generic text unless ``jupyterhub_message`` is
    set)."""

    def __init__(self, status: int, message: str, page_message: str | None = None) -> None:
        # the message goes in as an argument, so a '%' a person typed is never a format
        super().__init__(status, "%s", message)
        self.jupyterhub_message = page_message or message


def http_error(refusal: OptionsRefused) -> ProfileRefusal:
    return ProfileRefusal(refusal.status, refusal.message)


def config_error(problem: ProfileConfigError) -> ProfileRefusal:
    return ProfileRefusal(
        500,
        f"The hub's profile list is misconfigured: {problem}",
        f"The hub's server profiles are misconfigured ({problem}). Please tell the hub "
        "administrator.",
    )


def _log_name(spawner: Any) -> str:
    return str(getattr(spawner, "_log_name", getattr(spawner.user, "name", "?")))


def forget_refused(spawner: Any, user_options: Any) -> None:
    """Do not keep refused options as the server's defaults.

    JupyterHub stores a spawn request's options (to reuse them when a later start gives none)
    before ``apply_user_options`` runs. Left there, one refused request would make every later
    plain start — the admin page's, a REST call without a body, a one-profile form — fail the
    same way. The hub commits the change while cleaning up the failed spawn.
    """
    orm_spawner = getattr(spawner, "orm_spawner", None)
    if orm_spawner is not None and orm_spawner.user_options == user_options:
        orm_spawner.user_options = {}


class Profiles:
    """A configured profile list as one spawner integration sees it."""

    def __init__(
        self,
        profile_list: Any,
        teams: JupyterHubTeams,
        *,
        override_key: str = "spawner_override",
        slugify: Callable[[str], str] | None = None,
    ) -> None:
        self.profile_list = profile_list
        self.teams = teams
        self.override_key = override_key
        self.slugify = slugify or default_slugify
        if not callable(profile_list):
            validate_profile_list(profile_list, slugify=self.slugify)

    async def configured(self, spawner: Any) -> Any:
        """The configured list for this spawner (calling a callable list, maybe async)."""
        if callable(self.profile_list):
            return await maybe_await(self.profile_list(spawner))
        return self.profile_list

    async def visible(self, spawner: Any) -> list[Profile]:
        """The profiles the server's owner may use. A malformed list is an HTTP 500 whose
        message says what is wrong."""
        configured = await self.configured(spawner)
        try:
            return visible_profiles(
                configured,
                viewer_for(spawner.user, self.teams),
                override_key=self.override_key,
                slugify=self.slugify,
            )
        except ProfileConfigError as problem:
            spawner.log.error("Profile list misconfigured: %s", problem)
            raise config_error(problem) from problem

    async def check(
        self, spawner: Any, user_options: Any, *, allow_unknown: bool = False
    ) -> tuple[list[Profile], Any]:
        """Refuse (HTTPError) what the owner may not use; return the visible list and the
        accepted selection."""
        visible = await self.visible(spawner)
        try:
            selection = check_user_options(
                user_options,
                visible,
                allow_unknown=allow_unknown,
                nothing_available=nothing_available(spawner.user, self.teams),
            )
        except OptionsRefused as refusal:
            spawner.log.warning(
                "Refusing user options for %s: %s", _log_name(spawner), refusal.message
            )
            forget_refused(spawner, user_options)
            raise http_error(refusal) from None
        return visible, selection


async def apply_overrides(spawner: Any, overrides: Mapping[str, Any]) -> None:
    """Set the spawner's settings from one override dict (copies of its values).

    A value may be a callable taking the spawner (maybe async). Dict settings are merged
    (``None`` deletes a key), the rest replaced. A name the spawner has no setting for is a
    configuration error, not silently ignored.
    """
    for name, value in overrides.items():
        if not spawner.has_trait(name):
            raise ProfileConfigError(
                f"the override {name!r} is not a setting of {type(spawner).__name__}"
            )
        if callable(value):
            value = await maybe_await(value(spawner))
        # the filtered list's entries are shared by everyone (read-only): the spawner gets its
        # own plain copy, which it may change
        setattr(spawner, name, merge_setting(getattr(spawner, name), thaw(value)))


# user options some spawners act on by themselves, keyed by a setting that identifies them:
# DockerSpawner starts the image named by user_options["image"] (if allowed_images lets it)
_READ_BY_SPAWNER = {"allowed_images": "image"}


def refuse_clashes(spawner: Any, profile: Mapping[str, Any]) -> None:
    """A profile option the spawner would also read as its own user option is a configuration
    error: the spawner would act on the choice's key (``"default"``) rather than the profile's
    overrides."""
    options = profile.get("profile_options") or {}
    for setting, key in _READ_BY_SPAWNER.items():
        if key in options and spawner.has_trait(setting):
            raise ProfileConfigError(
                f"{type(spawner).__name__} reads the user option {key!r} itself; rename the "
                f"profile option {key!r} of profile {profile['slug']!r} (for example "
                f"'container_{key}') and set the setting in its choices' spawner_override"
            )


def make_options_form(profiles: Profiles) -> Hook:
    """``Spawner.options_form``: the profile form, or why there is none.

    One profile without options needs no choosing: no form, and JupyterHub starts the server
    directly with it.
    """

    async def options_form(spawner: Any) -> str:
        visible = await profiles.visible(spawner)
        if not visible:
            return render_unavailable(nothing_available(spawner.user, profiles.teams))
        if len(visible) == 1 and not visible[0].get("profile_options"):
            return ""
        return render_form(visible, spawner.user_options or {})

    return options_form


def options_from_form(formdata: Mapping[str, Any], spawner: Any = None) -> dict[str, str]:
    """``Spawner.options_from_form`` (also used for ``/hub/spawn`` query options)."""
    return parse_form(formdata)


def make_apply_user_options(profiles: Profiles, then: Hook | None) -> Hook:
    """``Spawner.apply_user_options``: refuse what the owner may not use, apply the rest.

    ``then`` (an ``apply_user_options`` the admin had configured) runs afterwards with the
    same options and handles the keys that are not profile options.
    """

    async def apply_user_options(spawner: Any, user_options: Any) -> None:
        _, selection = await profiles.check(spawner, user_options, allow_unknown=then is not None)
        spawner.log.info(
            "Starting %s with profile %r: %s",
            _log_name(spawner),
            selection.slug,
            selection.as_user_options(),
        )
        try:
            refuse_clashes(spawner, selection.profile)
            for overrides in selected_overrides(selection, profiles.override_key):
                await apply_overrides(spawner, overrides)
        except ProfileConfigError as problem:
            spawner.log.error("Profile list misconfigured: %s", problem)
            raise config_error(problem) from problem
        if then is not None:
            await maybe_await(then(spawner, user_options))

    return apply_user_options


def install_profiles(section: Any, profile_list: Any, teams: JupyterHubTeams) -> Profiles:
    """Give the spawners configured by ``section`` (normally ``c.Spawner``) the profile form
    and its enforcement."""
    for name in ("options_form", "options_from_form"):
        if name in section:
            raise ValueError(
                f"Spawner.{name} is already configured; jupyterhub-teams draws the profile "
                "form itself when JupyterHubTeams.profile_list is set. Remove one of them."
            )
    previous = section.get("apply_user_options")
    if previous is not None and not callable(previous):
        raise ValueError(
            "Spawner.apply_user_options is configured as a dict; with "
            "JupyterHubTeams.profile_list it must be a callable (it runs after the profile's)."
        )
    profiles = Profiles(profile_list, teams)
    section.options_form = make_options_form(profiles)
    section.options_from_form = options_from_form
    section.apply_user_options = make_apply_user_options(profiles, previous)
    return profiles


__all__ = [
    "Profiles",
    "apply_overrides",
    "install_profiles",
    "make_apply_user_options",
    "make_options_form",
    "options_from_form",
    "viewer_for",
]
