"""KubeSpawner (and zero-to-jupyterhub): group-restricted ``c.KubeSpawner.profile_list``.

KubeSpawner keeps doing what it does — its form template (or jupyterhub-fancy-profiles', which
KubeSpawner renders the same way), its form parsing, its ``load_user_options`` applying
``kubespawner_override`` — but the ``profile_list`` it sees is a callable returning the list
filtered for the server's owner. On its own that is not enough: KubeSpawner 7.1 refuses a
hidden profile slug with an unhandled ``ValueError`` (HTTP 500) and fails with ``KeyError`` on a
hidden choice. So ``apply_user_options``, which JupyterHub runs before ``start()``, checks the
options against the same filtered list first and refuses with a clear 4xx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from traitlets.config import Config

from .filter import Profile, default_slugify
from .form import render_unavailable
from .spawner import Hook, Profiles, maybe_await, nothing_available

if TYPE_CHECKING:
    from ..config import JupyterHubTeams


class RestrictedProfileList:
    """What ``c.KubeSpawner.profile_list`` becomes: called by KubeSpawner for the form and at
    start, it returns the configured list (itself maybe a callable) filtered for the owner."""

    def __init__(self, profiles: Profiles) -> None:
        self.profiles = profiles

    async def __call__(self, spawner: Any) -> list[Profile]:
        return await self.profiles.visible(spawner)


def kubespawner_slugify() -> Callable[[str], str]:
    """The slug function KubeSpawner uses for profiles without a slug, so that generated slugs
    (and the user options people saved with them) do not change when this is installed."""
    try:
        from slugify import slugify
    except ImportError:  # KubeSpawner depends on python-slugify; only without KubeSpawner
        return default_slugify

    def slug(text: str) -> str:
        return str(slugify(text))

    return slug


def make_kube_options_form(profiles: Profiles) -> Hook:
    """``KubeSpawner.options_form``: KubeSpawner's own form, or why there is none.

    KubeSpawner would render an empty form with a Start button for someone with no profile;
    everyone else gets exactly what KubeSpawner renders for the filtered list.
    """

    async def options_form(spawner: Any) -> str:
        visible = await profiles.visible(spawner)
        if not visible:
            return render_unavailable(nothing_available(spawner.user, profiles.teams))
        # KubeSpawner's default options_form for a callable profile_list: a renderer that
        # evaluates the (restricted) list and fills KubeSpawner's template with it
        default = spawner.trait_defaults("options_form")
        form = default(spawner) if callable(default) else default
        return str(await maybe_await(form))

    return options_form


def make_kube_apply_user_options(profiles: Profiles, then: Hook | None) -> Hook:
    """``KubeSpawner.apply_user_options``: refuse what the owner may not use. KubeSpawner's
    ``load_user_options`` applies the overrides afterwards, from the same filtered list."""

    async def apply_user_options(spawner: Any, user_options: Any) -> None:
        await profiles.check(spawner, user_options, allow_unknown=then is not None)
        if then is not None:
            await maybe_await(then(spawner, user_options))

    return apply_user_options


def restrict_kubespawner(c: Config, teams: JupyterHubTeams) -> Profiles | None:
    """Restrict ``c.KubeSpawner.profile_list`` by group; returns ``None`` if already done."""
    section = c.KubeSpawner
    original = section.profile_list
    if isinstance(original, RestrictedProfileList):
        return None
    profiles = Profiles(
        original, teams, override_key="kubespawner_override", slugify=kubespawner_slugify()
    )
    section.profile_list = RestrictedProfileList(profiles)
    if "options_form" not in section:
        section.options_form = make_kube_options_form(profiles)
    previous = None
    for configured in (c.KubeSpawner, c.Spawner):
        if "apply_user_options" in configured:
            previous = configured.apply_user_options
            break
    if previous is not None and not callable(previous):
        raise ValueError(
            "apply_user_options is configured as a dict; with a restricted "
            "KubeSpawner.profile_list it must be a callable (it runs after the check)."
        )
    section.apply_user_options = make_kube_apply_user_options(profiles, previous)
    return profiles
