"""The pure profile filter: who sees which profile, choice and free-text value; what is accepted."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jupyterhub_teams.profiles.compiled import visible_profiles
from jupyterhub_teams.profiles.demo import demo_profile_list
from jupyterhub_teams.profiles.filter import (
    ProfileConfigError,
    Viewer,
    default_slugify,
    validate_profile_list,
)
from jupyterhub_teams.profiles.form import render_form, render_unavailable
from jupyterhub_teams.profiles.user_options import (
    OptionsRefused,
    check_user_options,
    merge_setting,
    parse_form,
    selected_overrides,
    substitute_value,
)

DEMO_GROUPS = {
    "alice": {"physics", "chemistry"},
    "bob": {"physics"},
    "carol": {"chemistry"},
    "dave": set(),
    "erin": {"gpu-users"},
}


def shape(profiles: list[dict[str, Any]]) -> dict[str, dict[str, tuple[list[str], bool]]]:
    """slug → option → (choice keys, free text offered)."""
    return {
        p["slug"]: {
            name: (list(option.get("choices", {})), "unlisted_choice" in option)
            for name, option in p.get("profile_options", {}).items()
        }
        for p in profiles
    }


def nested() -> list[dict[str, Any]]:
    """Restrictions at every level, in both override spellings."""
    return [
        {
            "display_name": "Open Lab",
            "profile_options": {
                "size": {
                    "display_name": "Size",
                    "choices": {
                        "s": {"display_name": "S", "spawner_override": {"mem_limit": "1G"}},
                        "m": {
                            "display_name": "M",
                            "default": True,
                            "allowed_groups": ["b"],
                            "kubespawner_override": {"mem_limit": "2G"},
                        },
                        "l": {"display_name": "L", "allowed_groups": ["c"]},
                    },
                },
                "secret": {
                    "choices": {"x": {"allowed_groups": ["z"]}},
                    "unlisted_choice": {
                        "enabled": True,
                        "allowed_groups": ["z"],
                        "spawner_override": {"image": "{value}"},
                    },
                },
                "tag": {
                    "unlisted_choice": {
                        "enabled": True,
                        "allowed_groups": ["a"],
                        "validation_regex": "^v[0-9]+$",
                        "validation_message": "a version like v3",
                        "spawner_override": {"environment": {"TAG": "{value}"}},
                    }
                },
            },
        },
        {"slug": "b-only", "display_name": "B", "allowed_groups": ["b"], "default": True},
        {"slug": "for-teams", "display_name": "Teams", "team_only": True},
        {
            "slug": "team-a",
            "display_name": "Team A",
            "team_only": True,
            "allowed_groups": ["a"],
        },
    ]


def test_each_demo_person_sees_their_profiles_and_choices() -> None:
    seen = {
        name: shape(visible_profiles(demo_profile_list(), Viewer.of(groups)))
        for name, groups in DEMO_GROUPS.items()
    }
    assert seen["alice"] == {
        "standard": {"memory": (["small", "large"], False), "image": (["default"], True)}
    }
    assert seen["bob"] == {
        "standard": {"memory": (["small", "large"], False), "image": (["default"], False)}
    }
    assert seen["carol"] == {
        "standard": {"memory": (["small"], False), "image": (["default"], True)}
    }
    assert seen["dave"] == {
        "standard": {"memory": (["small"], False), "image": (["default"], False)}
    }
    assert seen["erin"]["gpu"] == {}
    assert set(seen["erin"]) == {"standard", "gpu"}


def test_team_accounts_see_only_team_profiles_and_people_never() -> None:
    team = visible_profiles(demo_profile_list(), Viewer.of(["physics"], team_account=True))
    assert [p["slug"] for p in team] == ["team"]
    for groups in DEMO_GROUPS.values():
        slugs = [p["slug"] for p in visible_profiles(demo_profile_list(), Viewer.of(groups))]
        assert "team" not in slugs
    # allowed_groups still applies to team-only profiles
    team_a = visible_profiles(nested(), Viewer.of(["a"], team_account=True))
    assert [p["slug"] for p in team_a] == ["for-teams", "team-a"]
    # without team-only profiles, team accounts get the ordinary ones
    ordinary = [p for p in nested() if not p.get("team_only")]
    seen = visible_profiles(ordinary, Viewer.of([], team_account=True))
    assert [p["slug"] for p in seen] == ["open-lab"]


def test_restrictions_at_every_level() -> None:
    assert shape(visible_profiles(nested(), Viewer.of([]))) == {
        "open-lab": {"size": (["s"], False)}
    }
    assert shape(visible_profiles(nested(), Viewer.of(["a", "b"]))) == {
        "open-lab": {"size": (["s", "m"], False), "tag": ([], True)},
        "b-only": {},
    }
    assert shape(visible_profiles(nested(), Viewer.of(["z", "c"]))) == {
        "open-lab": {"size": (["s", "l"], False), "secret": (["x"], True)}
    }


def test_group_names_are_compared_exactly() -> None:
    profiles = [{"slug": "p", "display_name": "P", "allowed_groups": ["Physics"]}]
    assert visible_profiles(profiles, Viewer.of(["physics"])) == []
    assert visible_profiles(profiles, Viewer.of(["/Physics"])) == []
    assert [p["slug"] for p in visible_profiles(profiles, Viewer.of(["Physics"]))] == ["p"]


def test_defaults_move_to_what_is_left() -> None:
    profiles = visible_profiles(nested(), Viewer.of([]))
    # the configured default profile (b-only) is hidden: the first visible one is the default
    assert [p["default"] for p in profiles] == [True]
    size = profiles[0]["profile_options"]["size"]
    # the configured default choice (m) is hidden: the first visible one is the default
    assert {k: c["default"] for k, c in size["choices"].items()} == {"s": True}
    with_b = visible_profiles(nested(), Viewer.of(["b"]))
    assert [p["default"] for p in with_b] == [False, True]
    assert with_b[0]["profile_options"]["size"]["choices"]["m"]["default"] is True


def test_output_carries_no_access_keys_and_one_override_spelling() -> None:
    config = nested()
    before = copy.deepcopy(config)
    for key in ("spawner_override", "kubespawner_override"):
        profiles = visible_profiles(config, Viewer.of(["a", "b", "c", "z"]), override_key=key)
        text = repr(profiles)
        assert "allowed_groups" not in text and "team_only" not in text
        choices = profiles[0]["profile_options"]["size"]["choices"]
        assert choices["s"][key] == {"mem_limit": "1G"}
        assert choices["m"][key] == {"mem_limit": "2G"}
        other = ({"spawner_override", "kubespawner_override"} - {key}).pop()
        assert f"'{other}'" not in text
    assert config == before, "the configuration was modified"


def test_dict_profile_lists_are_ordered_by_key_like_kubespawner() -> None:
    as_dict = {"zz": {"display_name": "Last"}, "aa": {"display_name": "First", "slug": "one"}}
    profiles = visible_profiles(as_dict, Viewer.of([]))
    assert [p["slug"] for p in profiles] == ["one", "last"]


def test_slugs_come_from_display_names() -> None:
    assert default_slugify("Data Science / ML (GPU)") == "data-science-ml-gpu"
    assert default_slugify("Ünïcode Lab") == "unicode-lab"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ([{"slug": "a", "allowed_groups": "physics"}], "must be a list of group names"),
        ([{"slug": "a", "allowed_groups": None}], "must be a list of group names"),
        ([{"slug": "a", "allowed_groups": [""]}], "group names"),
        ([{"slug": "a", "team_only": "yes"}], "team_only must be true or false"),
        ([{"slug": "a"}, {"slug": "a"}], "two profiles have the slug 'a'"),
        ([{"description": "no name"}], "needs a slug or a display_name"),
        ([{"slug": "a", "spawner_override": {}, "kubespawner_override": {}}], "use one"),
        (
            [
                {
                    "slug": "a",
                    "profile_options": {
                        "o": {"unlisted_choice": {"enabled": True, "validation_regex": "("}}
                    },
                }
            ],
            "is not a regular expression",
        ),
        (
            [{"slug": "a", "profile_options": {"o": {"choices": {"c": {"allowed_groups": "x"}}}}}],
            "choices['c'].allowed_groups",
        ),
        ("standard", "must be a list or a dict"),
        ([["not", "a", "dict"]], "profile_list[0] must be a dict"),
    ],
)
def test_malformed_lists_are_refused_whoever_looks(config: Any, words: str) -> None:
    with pytest.raises(ProfileConfigError) as raised:
        validate_profile_list(config)
    assert words in str(raised.value)
    # hidden parts are checked too: a mistake does not wait for the one person who sees it
    with pytest.raises(ProfileConfigError):
        visible_profiles(config, Viewer.of(["nobody-has-this"], team_account=True))


def refusal(options: Any, groups: set[str], **kwargs: Any) -> OptionsRefused:
    visible = visible_profiles(demo_profile_list(), Viewer.of(groups))
    with pytest.raises(OptionsRefused) as raised:
        check_user_options(options, visible, **kwargs)
    return raised.value


@pytest.mark.parametrize(
    ("options", "groups", "status", "words"),
    [
        ({"profile": "gpu"}, set(), 403, "Profile 'gpu' is not available to you"),
        ({"profile": "team"}, {"gpu-users"}, 403, "Profile 'team' is not available"),
        ({"profile": "nope"}, set(), 403, "Profiles you can use: 'standard'"),
        ({"memory": "large"}, {"chemistry"}, 403, "Choice 'large' of option 'memory'"),
        ({"memory": "huge"}, {"physics"}, 403, "Choices you can use: 'small', 'large'"),
        ({"image--unlisted-choice": "x/y"}, {"physics"}, 403, "A value of your own"),
        ({"image": "unlisted-choice"}, {"physics"}, 403, "Choice 'unlisted-choice'"),
        ({"image": "unlisted-choice"}, {"chemistry"}, 400, "Enter a value of your own"),
        ({"image--unlisted-choice": "Bad Name"}, {"chemistry"}, 400, "is not accepted"),
        ({"cpu_limit": "64"}, set(), 403, "'cpu_limit' is not an option"),
        ({"memory--unlisted-choice": "64G"}, {"physics"}, 403, "A value of your own"),
        ({"memory": ["large"]}, {"physics"}, 400, "must be a string"),
        ({"profile": 3}, set(), 400, "profile must be a string"),
        (["profile", "gpu"], set(), 400, "must be an object"),
    ],
)
def test_what_is_not_offered_is_refused_with_a_reason(
    options: Any, groups: set[str], status: int, words: str
) -> None:
    refused = refusal(options, groups)
    assert refused.status == status
    assert words in refused.message


def test_nobody_may_start_without_a_profile() -> None:
    visible = visible_profiles([{"slug": "p", "allowed_groups": ["x"]}], Viewer.of(["y"]))
    assert visible == []
    for options in ({}, {"profile": "p"}):
        with pytest.raises(OptionsRefused) as raised:
            check_user_options(options, visible, nothing_available="none for you")
        assert (raised.value.status, raised.value.message) == (403, "none for you")


def test_accepted_options_resolve_every_option() -> None:
    chemist = visible_profiles(demo_profile_list(), Viewer.of(["chemistry", "physics"]))
    selection = check_user_options({}, chemist)
    assert selection.as_user_options() == {
        "profile": "standard",
        "memory": "small",
        "image": "default",
    }
    selection = check_user_options(
        {"profile": "standard", "memory": "large", "image--unlisted-choice": "quay.io/a/b:1"},
        chemist,
    )
    assert selection.as_user_options() == {
        "profile": "standard",
        "memory": "large",
        "image--unlisted-choice": "quay.io/a/b:1",
    }
    assert selected_overrides(selection) == [
        {"environment": {"JUPYTERHUB_TEAMS_PROFILE": "standard"}},
        {"mem_limit": "4G"},
        {"environment": {"JUPYTER_IMAGE": "quay.io/a/b:1"}},
    ]
    # empty values mean the default, like KubeSpawner
    assert check_user_options({"profile": "", "memory": ""}, chemist).as_user_options() == {
        "profile": "standard",
        "memory": "small",
        "image": "default",
    }


def test_unknown_keys_may_be_left_to_another_hook() -> None:
    visible = visible_profiles(demo_profile_list(), Viewer.of([]))
    selection = check_user_options({"repo": "x"}, visible, allow_unknown=True)
    assert selection.slug == "standard"
    # but never a hidden choice or value
    with pytest.raises(OptionsRefused):
        check_user_options({"memory": "large"}, visible, allow_unknown=True)


def test_an_option_with_only_free_text_needs_a_value() -> None:
    visible = visible_profiles(nested(), Viewer.of(["a"]))
    with pytest.raises(OptionsRefused) as raised:
        check_user_options({"profile": "open-lab"}, visible)
    assert raised.value.status == 400 and "needs a value of your own" in raised.value.message
    selection = check_user_options({"profile": "open-lab", "tag--unlisted-choice": "v3"}, visible)
    assert selected_overrides(selection)[-1] == {"environment": {"TAG": "v3"}}
    with pytest.raises(OptionsRefused, match="a version like v3"):
        check_user_options({"profile": "open-lab", "tag--unlisted-choice": "latest"}, visible)


def test_free_text_is_substituted_not_formatted() -> None:
    assert substitute_value({"a": "x-{value}", "{value}": ["{value}"]}, "{0}%s") == {
        "a": "x-{0}%s",
        "{0}%s": ["{0}%s"],
    }
    assert substitute_value(3, "v") == 3


def test_settings_merge_like_kubespawner() -> None:
    current = {"A": "1", "B": {"x": 1, "y": 2}}
    merged = merge_setting(current, {"A": None, "B": {"y": None, "z": 3}, "C": "c"})
    assert merged == {"B": {"x": 1, "z": 3}, "C": "c"}
    assert current == {"A": "1", "B": {"x": 1, "y": 2}}
    assert merge_setting("1G", "2G") == "2G"
    assert merge_setting(None, {"a": None, "b": 1}) == {"b": 1}


@pytest.mark.parametrize(
    ("formdata", "options"),
    [
        ({}, {}),
        ({"profile": ["gpu"]}, {"profile": "gpu"}),
        (
            {
                "profile": ["standard"],
                "profile-option-standard--memory": ["large"],
                "profile-option-gpu--memory": ["ignored"],
                "_xsrf": ["token"],
            },
            {"profile": "standard", "memory": "large"},
        ),
        (
            {
                "profile": ["standard"],
                "profile-option-standard--image": ["unlisted-choice"],
                "profile-option-standard--image--unlisted-choice": ["quay.io/a/b"],
            },
            {"profile": "standard", "image--unlisted-choice": "quay.io/a/b"},
        ),
        (
            {
                "profile": ["standard"],
                "profile-option-standard--image": ["default"],
                "profile-option-standard--image--unlisted-choice": ["left over"],
            },
            {"profile": "standard", "image": "default"},
        ),
        (
            {
                "profile": ["standard"],
                "profile-option-standard--image": ["unlisted-choice"],
                "profile-option-standard--image--unlisted-choice": [""],
            },
            {"profile": "standard", "image": "unlisted-choice"},
        ),
        (
            {
                "profile": ["short"],
                "profile-option-short--relevant": ["a"],
                "profile-option-short-plus--irrelevant": ["b"],
            },
            {"profile": "short", "relevant": "a"},
        ),
    ],
)
def test_form_fields_become_kubespawner_user_options(
    formdata: dict[str, list[str]], options: dict[str, str]
) -> None:
    assert parse_form(formdata) == options


def test_the_form_escapes_every_name() -> None:
    evil = '<script>alert("x")</script>{{ 7*7 }}'
    profiles = [
        {
            "slug": 'a"b',
            "display_name": evil,
            "description": evil,
            "profile_options": {
                'o"<': {
                    "display_name": evil,
                    "choices": {'c"<': {"display_name": evil}},
                    "unlisted_choice": {
                        "enabled": True,
                        "display_name": evil,
                        "display_name_in_choices": evil,
                        "validation_regex": '^"<$',
                        "validation_message": evil,
                    },
                }
            },
        }
    ]
    visible = visible_profiles(profiles, Viewer.of([]))
    page = render_form(visible, {"profile": 'a"b', 'o"<--unlisted-choice': evil})
    assert "<script>alert" not in page
    assert "{{" not in page
    assert 'value="a&quot;b"' in page
    assert "&lt;script&gt;" in page
    assert "<script>alert" not in render_unavailable(evil)


def test_the_form_preselects_what_is_still_offered() -> None:
    visible = visible_profiles(demo_profile_list(), Viewer.of(["physics", "chemistry"]))
    page = render_form(
        visible,
        {"profile": "standard", "memory": "large", "image--unlisted-choice": "quay.io/a/b"},
    )
    assert '<option value="large" selected>' in page
    assert '<option value="unlisted-choice" selected>' in page
    assert 'value="quay.io/a/b"' in page
    # a saved choice that is no longer offered falls back to the default
    dave = visible_profiles(demo_profile_list(), Viewer.of([]))
    page = render_form(dave, {"profile": "standard", "memory": "large"})
    assert '<option value="small" selected>' in page and "large" not in page


def test_free_text_with_a_trailing_newline_is_refused() -> None:
    visible = visible_profiles(nested(), Viewer.of(["a"]))
    # "^v[0-9]+$" with re.match accepts "v3\n": "$" matches before a final newline
    for value in ("v3\n", "v3\r", "v3\x00"):
        with pytest.raises(OptionsRefused, match="line break or another control character"):
            check_user_options({"profile": "open-lab", "tag--unlisted-choice": value}, visible)
    assert check_user_options({"profile": "open-lab", "tag--unlisted-choice": "v3"}, visible)
