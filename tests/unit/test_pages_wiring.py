"""``configure_pages``: routes, templates, scopes and the revocation hook; and the page
templates escape whatever names they are given."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jupyterhub
import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from traitlets.config import Config

from jupyterhub_teams import setup
from jupyterhub_teams.config import JupyterHubTeams
from jupyterhub_teams.pages import PAGES_USER_SCOPES, configure_pages
from jupyterhub_teams.pages.rules import share_scopes
from jupyterhub_teams.pages.views import ServerShares, ServerState, TeamView
from jupyterhub_teams.pages.wiring import TEMPLATES, make_revocation_step

HOSTILE = "<img src=x onerror=alert(1)>"


def routes(c: Config) -> set[str]:
    """The hub-prefixed routes the configured authenticator registers, as the hub asks for
    them (``JupyterHub.init_handlers`` calls ``authenticator.get_handlers(app)``)."""
    authenticator = c.JupyterHub.authenticator_class(config=c)
    return {h[0] for h in authenticator.get_handlers(None)}


def test_pages_are_templated_and_people_may_share(tmp_path: Path) -> None:
    c = Config()
    c.JupyterHub.template_paths = ["/srv/my-templates"]
    c.JupyterHub.extra_user_scopes = {"access:services"}
    configure_pages(c, JupyterHubTeams(config=c))
    # the admin's own templates keep priority
    assert c.JupyterHub.template_paths == ["/srv/my-templates", str(TEMPLATES)]
    assert c.JupyterHub.extra_user_scopes == {"access:services", *PAGES_USER_SCOPES}


def test_user_sharing_off_leaves_the_user_role_alone() -> None:
    c = Config()
    c.JupyterHubTeams.user_sharing = False
    configure_pages(c, JupyterHubTeams(config=c))
    assert "extra_user_scopes" not in c.JupyterHub


def test_setup_wires_the_pages(tmp_path: Path) -> None:
    directory = tmp_path / "directory.yaml"
    directory.write_text("groups: {}\n")
    c = Config()
    c.JupyterHubTeams.directory = str(directory)
    setup(c)
    assert {"/teams", "/sharing", "/teams/join", "/teams/api/teams"} <= routes(c)
    # not through JupyterHub.extra_handlers, which is deprecated and warns at every start
    assert "extra_handlers" not in c.JupyterHub


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize(
    "authenticator", ["dummy", "jupyterhub.auth.DummyAuthenticator", "DummyAuthenticator"]
)
def test_the_admins_authenticator_keeps_its_own_handlers_and_serves_the_pages(
    tmp_path: Path, when: str, authenticator: str
) -> None:
    from jupyterhub.auth import DummyAuthenticator
    from oauthenticator.generic import GenericOAuthenticator

    chosen: Any = DummyAuthenticator if authenticator == "DummyAuthenticator" else authenticator
    directory = tmp_path / "directory.yaml"
    directory.write_text("groups: {}\n")
    c = Config()
    c.JupyterHubTeams.directory = str(directory)
    if when == "before":
        c.JupyterHub.authenticator_class = chosen
    setup(c)
    if when == "after":
        c.JupyterHub.authenticator_class = chosen
    cls = c.JupyterHub.authenticator_class
    assert issubclass(cls, DummyAuthenticator) and cls.__name__ == "DummyAuthenticator"
    assert "/teams" in routes(c)
    # an OAuthenticator keeps its login and callback handlers next to the pages
    c.JupyterHub.authenticator_class = GenericOAuthenticator
    assert {"/oauth_login", "/oauth_callback", "/teams"} <= routes(c)
    # composing is done once: reading or setting our class again does not wrap it again
    ours = c.JupyterHub.authenticator_class
    c.JupyterHub.authenticator_class = ours
    assert c.JupyterHub.authenticator_class is ours


def test_without_an_authenticator_class_the_hubs_default_serves_the_pages(tmp_path: Path) -> None:
    from jupyterhub.auth import PAMAuthenticator

    directory = tmp_path / "directory.yaml"
    directory.write_text("groups: {}\n")
    c = Config()
    c.JupyterHubTeams.directory = str(directory)
    setup(c)
    assert issubclass(c.JupyterHub.authenticator_class, PAMAuthenticator)


def spawner(name: str, groups: tuple[str, ...] = (), args: list[str] | None = None) -> Any:
    user = SimpleNamespace(name=name, groups=[SimpleNamespace(name=g) for g in groups])
    return SimpleNamespace(user=user, args=list(args or ["--allow-root"]), environment={})


def test_people_s_servers_trust_a_share_for_the_configured_time() -> None:
    c = Config()
    c.JupyterHubTeams.share_revocation_interval = 7
    step = make_revocation_step(JupyterHubTeams(config=c))
    assert step is not None
    person = spawner("bob")
    for _ in range(2):  # a second start does not add the option twice
        step(person)
    assert person.args == ["--allow-root", "--HubOAuth.cache_max_age=7"]
    # the single-user extension re-checks open websockets on the same interval
    assert person.environment == {"JUPYTERHUB_TEAMS_REVOCATION_INTERVAL": "7"}
    team = spawner("collab-physics", ("jupyterhub-teams-accounts",))
    step(team)
    assert team.args == ["--allow-root"]  # team servers have their own interval


def test_interval_zero_leaves_servers_alone() -> None:
    c = Config()
    c.JupyterHubTeams.share_revocation_interval = 0
    assert make_revocation_step(JupyterHubTeams(config=c)) is None


@pytest.mark.parametrize("value", [-1, 3601])
def test_share_revocation_interval_is_bounded(value: int) -> None:
    from traitlets import TraitError

    with pytest.raises(TraitError):
        JupyterHubTeams(share_revocation_interval=value)


# -- templates --------------------------------------------------------------------------------


def environment() -> Environment:
    """The hub's own template set-up (autoescape, ``templates/`` prefix) with the pages'."""
    hub_templates = Path(jupyterhub.__file__).parents[4] / "share" / "jupyterhub" / "templates"
    assert hub_templates.is_dir(), f"JupyterHub's templates are not at {hub_templates}"
    loader = ChoiceLoader(
        [
            PrefixLoader({"templates": FileSystemLoader([str(hub_templates)])}, "/"),
            FileSystemLoader([str(TEMPLATES), str(hub_templates)]),
        ]
    )
    return Environment(loader=loader, autoescape=True)


def test_cards_show_hostile_names_as_text() -> None:
    team = TeamView(
        name="img-src-x-onerror-alert-1",
        account="collab-img-src-x-onerror-alert-1",
        source_group=HOSTILE,
        origin="hub",
        retired=False,
        members=[HOSTILE, "carol"],
        admins=["carol"],
        server=ServerState("stopped", "/user/collab-img-src-x-onerror-alert-1/"),
        member=True,
        can_start_stop=True,
        is_admin=True,
    )
    ns = {"user": SimpleNamespace(name="carol"), "base_url": "/hub/", "invite_lifetimes": []}
    html = (
        environment().get_template("jupyterhub_teams/team_card_only.html").render(team=team, **ns)
    )
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'data-action="start"' in html

    server = ServerShares(
        owner="bob",
        server_name="",
        url="/user/bob/",
        state=ServerState("running", "/user/bob/"),
        people=[],
        teams=[(HOSTILE, "Use", [HOSTILE])],
        codes=[],
        mine=True,
        levels=[("use", "Use")],
    )
    ns |= {"code_lifetimes": [], "share_scopes": share_scopes}
    html = (
        environment()
        .get_template("jupyterhub_teams/server_card_only.html")
        .render(server=server, **ns)
    )
    assert HOSTILE not in html
    assert 'data-scopes="access:servers!server=bob/"' in html


def test_a_retired_team_offers_no_server_action() -> None:
    team = TeamView(
        name="old",
        account="collab-old",
        source_group="old",
        origin="directory",
        retired=True,
        members=["alice"],
        admins=[],
        server=ServerState("stopped", "/user/collab-old/"),
        member=True,
    )
    ns = {"user": SimpleNamespace(name="alice"), "base_url": "/hub/", "invite_lifetimes": []}
    html = (
        environment().get_template("jupyterhub_teams/team_card_only.html").render(team=team, **ns)
    )
    assert "Retired" in html
    assert "data-action" not in html
