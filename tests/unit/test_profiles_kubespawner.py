"""KubeSpawner with restricted profiles, through KubeSpawner's own form rendering, form parsing
and ``load_user_options`` — no cluster: the spawner is built with ``_mock=True`` (as KubeSpawner's
own tests do) against a kubeconfig naming an address nothing listens on; nothing here talks
to it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# imported plainly: a missing KubeSpawner must fail these tests, never skip them
import kubespawner
import pytest
from tornado import web
from traitlets.config import Config

from jupyterhub_teams.config import JupyterHubTeams
from jupyterhub_teams.integration import setup
from jupyterhub_teams.profiles.demo import demo_profile_list
from jupyterhub_teams.profiles.kubespawner import RestrictedProfileList

ACCOUNTS = JupyterHubTeams().accounts_group


pytestmark = pytest.mark.usefixtures("no_cluster")


class Group:
    def __init__(self, name: str) -> None:
        self.name = name


class User:
    def __init__(self, name: str, *groups: str) -> None:
        self.name = name
        self.groups = [Group(g) for g in groups]
        self.id = 7
        self.url = f"/user/{name}/"


def z2jh(profile_list: Any, **extra: Any) -> Config:
    """A z2jh-like config: the chart sets the profile list, extraConfig calls setup(c)."""
    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.KubeSpawner.profile_list = profile_list
    for key, value in extra.items():
        c.KubeSpawner[key] = value
    setup(c)
    return c


def kube(c: Config, user: User) -> Any:
    return kubespawner.KubeSpawner(_mock=True, config=c, user=user)


async def test_kubespawner_loads_the_restricted_list_and_the_check_refuses_first() -> None:
    c = z2jh(demo_profile_list())
    restricted = c.KubeSpawner.profile_list
    assert isinstance(restricted, RestrictedProfileList)
    carol = kube(c, User("carol", "chemistry"))
    dave = kube(c, User("dave"))

    # the list KubeSpawner evaluates is the package's, filtered for the server's owner
    carols = await restricted(carol)
    assert [p["slug"] for p in carols] == ["standard"]
    assert list(carols[0]["profile_options"]["memory"]["choices"]) == ["small"]
    assert [p["slug"] for p in await restricted(dave)] == ["standard"]

    # KubeSpawner's own load_user_options, given only that list (no check): a hidden choice
    # is a KeyError and a hidden profile an unhandled ValueError, i.e. a 500 — which is why
    # setup() also installs apply_user_options
    bare = Config()
    bare.KubeSpawner.profile_list = restricted
    unchecked_carol = kube(bare, User("carol", "chemistry"))
    unchecked_carol.user_options = {"profile": "standard", "memory": "large"}
    with pytest.raises(KeyError):
        await unchecked_carol.load_user_options()
    unchecked_dave = kube(bare, User("dave"))
    unchecked_dave.user_options = {"profile": "gpu"}
    with pytest.raises(ValueError, match="No such profile"):
        await unchecked_dave.load_user_options()

    # with setup()'s apply_user_options, which JupyterHub runs before start(), the same
    # options are refused with a 403 in words, before KubeSpawner loads anything
    with pytest.raises(web.HTTPError) as raised:
        await carol._run_apply_user_options({"profile": "standard", "memory": "large"})
    assert raised.value.status_code == 403
    assert raised.value.get_message() == (
        "Choice 'large' of option 'memory' (profile 'standard') is not available to you. "
        "Choices you can use: 'small'."
    )
    with pytest.raises(web.HTTPError) as raised:
        await dave._run_apply_user_options({"profile": "gpu"})
    assert raised.value.status_code == 403
    assert raised.value.get_message() == (
        "Profile 'gpu' is not available to you. Profiles you can use: 'standard'."
    )


@pytest.mark.parametrize(
    ("who", "options", "words"),
    [
        (("carol", "chemistry"), {"profile": "standard", "memory": "large"}, "Choice 'large'"),
        (("dave",), {"profile": "gpu"}, "Profile 'gpu' is not available to you"),
        (("dave",), {"profile": "team"}, "Profile 'team' is not available to you"),
        (
            ("bob", "physics"),
            {"profile": "standard", "image--unlisted-choice": "quay.io/x/y"},
            "A value of your own for option 'image'",
        ),
        (("bob", "physics"), {"memory": "huge"}, "Choice 'huge'"),
    ],
)
async def test_hidden_choices_profiles_and_values_are_refused_clearly(
    who: tuple[str, ...], options: dict[str, Any], words: str
) -> None:
    spawner = kube(z2jh(demo_profile_list()), User(*who))
    with pytest.raises(web.HTTPError) as raised:
        await spawner._run_apply_user_options(options)
    assert raised.value.status_code == 403
    assert words in (raised.value.get_message() or "")


async def test_kubespawners_form_shows_only_what_each_person_may_use() -> None:
    c = z2jh(demo_profile_list())
    forms = {
        name: await kube(c, User(name, *groups)).get_options_form()
        for name, groups in {
            "alice": ("physics", "chemistry"),
            "carol": ("chemistry",),
            "dave": (),
            "erin": ("gpu-users",),
        }.items()
    }
    # KubeSpawner's own template (its jQuery-driven profile list)
    assert all('id="kubespawner-profiles-list"' in form for form in forms.values())
    assert '<option value="large"' in forms["alice"]
    assert '<option value="large"' not in forms["carol"]
    assert '<option value="unlisted-choice">' in forms["carol"]
    assert '<option value="unlisted-choice">' not in forms["dave"]
    assert 'value="gpu"' in forms["erin"] and 'value="gpu"' not in forms["dave"]
    for form in forms.values():
        assert 'value="team"' not in form
        assert "allowed_groups" not in form


async def test_allowed_options_from_kubespawners_form_are_loaded() -> None:
    c = z2jh(demo_profile_list())
    alice = kube(c, User("alice", "physics", "chemistry"))
    # the fields KubeSpawner's form posts once its script has picked "Another image…"
    formdata = {
        "profile": ["standard"],
        "profile-option-standard--memory": ["large"],
        "profile-option-standard--image--unlisted-choice": ["quay.io/jupyter/r-notebook:x"],
    }
    options = alice.options_from_form(formdata)
    await alice._run_apply_user_options(options)
    alice.user_options = options
    await alice.load_user_options()
    assert alice.mem_limit == 4 * 1024**3
    assert alice.environment["JUPYTER_IMAGE"] == "quay.io/jupyter/r-notebook:x"
    assert alice.environment["JUPYTERHUB_TEAMS_PROFILE"] == "standard"

    # a team account gets the team profile by default
    team = kube(c, User("collab-physics", ACCOUNTS))
    await team._run_apply_user_options({})
    team.user_options = {}
    await team.load_user_options()
    assert team.environment["JUPYTERHUB_TEAMS_PROFILE"] == "team"


async def test_someone_with_no_profile_gets_a_notice_not_an_empty_form() -> None:
    c = z2jh([{"slug": "p", "display_name": "P", "allowed_groups": ["physics"]}])
    dave = kube(c, User("dave"))
    form = await dave.get_options_form()
    assert "No server profile is available to your account" in form
    with pytest.raises(web.HTTPError) as raised:
        await dave._run_apply_user_options({})
    assert raised.value.status_code == 403


async def test_callable_and_dict_lists_and_generated_slugs() -> None:
    async def per_user(spawner: Any) -> dict[str, Any]:
        return {
            "b": {"display_name": "Research Lab (GPU)", "allowed_groups": ["gpu-users"]},
            "a": {"display_name": f"Home of {spawner.user.name}"},
        }

    c = z2jh(per_user)
    erin = kube(c, User("erin", "gpu-users"))
    form = await erin.get_options_form()
    # slugs are made the way KubeSpawner makes them, so saved options keep working
    assert 'value="research-lab-gpu"' in form and 'value="home-of-erin"' in form
    await erin._run_apply_user_options({"profile": "research-lab-gpu"})
    dave = kube(c, User("dave"))
    with pytest.raises(web.HTTPError):
        await dave._run_apply_user_options({"profile": "research-lab-gpu"})


async def test_a_template_that_renders_the_list_itself_gets_the_filtered_list(
    tmp_path: Path,
) -> None:
    # what jupyterhub-fancy-profiles does: its own form.html, fed by KubeSpawner
    (tmp_path / "form.html").write_text(
        "<script id=profiles type=application/json>{{ profile_list|tojson }}</script>"
    )
    c = z2jh(demo_profile_list(), additional_profile_form_template_paths=[str(tmp_path)])
    form = await kube(c, User("carol", "chemistry")).get_options_form()
    data = json.loads(form.split(">", 1)[1].rsplit("</script>", 1)[0])
    assert [p["slug"] for p in data] == ["standard"]
    memory = data[0]["profile_options"]["memory"]["choices"]
    assert list(memory) == ["small"]
    assert data[0]["profile_options"]["image"]["unlisted_choice"]["enabled"] is True
    assert "allowed_groups" not in json.dumps(data)


def test_setup_twice_restricts_once_and_keeps_an_admins_hooks() -> None:
    calls: list[Any] = []
    c = z2jh(demo_profile_list(), apply_user_options=lambda sp, opts: calls.append(opts))
    restricted = c.KubeSpawner.profile_list
    assert isinstance(restricted, RestrictedProfileList)
    setup(c)
    assert c.KubeSpawner.profile_list is restricted

    form = "<p>mine</p>"
    c = z2jh(demo_profile_list(), options_form=form)
    assert c.KubeSpawner.options_form == form


async def test_an_admins_apply_user_options_runs_after_the_check() -> None:
    calls: list[Any] = []
    c = z2jh(demo_profile_list(), apply_user_options=lambda sp, opts: calls.append(opts))
    dave = kube(c, User("dave"))
    await dave._run_apply_user_options({"profile": "standard", "extra": "x"})
    assert calls == [{"profile": "standard", "extra": "x"}]
    with pytest.raises(web.HTTPError):
        await dave._run_apply_user_options({"profile": "gpu"})
    assert len(calls) == 1
