"""What group-restricted profiles cost per form render and per spawn.

A profile list of 100 profiles with 10 options each (5 choices and an ``unlisted_choice`` per
option; ``allowed_groups`` on half the profiles, on 2 of every 5 choices and on every unlisted
choice, two groups each out of 1,000) is filtered for a person in 200 groups. The baseline is
what KubeSpawner does anyway on every form render and every start: a deep copy of the whole,
unfiltered list. A plain copy of the list down to the choices (the depth the filter builds new
dicts to, deciding nothing) is shown for comparison, and so is the check of one set of user
options against the filtered list.

Each measurement runs ``--runs`` times (after one warm-up), ``--inner`` calls per run; the table
gives the median, min and max time per call and the ratio of medians to the baseline. The
filter's answer is checked before anything is timed.

Usage::

    .venv/bin/python benchmarks/bench_profiles.py [--runs 15] [--inner 20]
"""

from __future__ import annotations

import argparse
import copy
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jupyterhub_teams.profiles.compiled import CompiledProfiles, visible_profiles  # noqa: E402
from jupyterhub_teams.profiles.filter import Viewer, checked_visible_profiles  # noqa: E402
from jupyterhub_teams.profiles.user_options import check_user_options  # noqa: E402

PROFILES = 100
OPTIONS = 10
CHOICES = 5
GROUPS = 1000
PERSON_GROUPS = 200


def build(
    seed: int = 7, option_count: int = OPTIONS, choice_count: int = CHOICES
) -> tuple[list[dict[str, Any]], Viewer]:
    rng = random.Random(seed)
    names = [f"group-{i:04d}" for i in range(GROUPS)]

    def groups() -> list[str]:
        return rng.sample(names, 2)

    profile_list: list[dict[str, Any]] = []
    for p in range(PROFILES):
        options: dict[str, Any] = {}
        for o in range(option_count):
            choices: dict[str, Any] = {}
            for c in range(choice_count):
                choice: dict[str, Any] = {
                    "display_name": f"Choice {c}",
                    "kubespawner_override": {"environment": {f"OPT_{o}": f"value-{c}"}},
                }
                if c % 5 in (3, 4):
                    choice["allowed_groups"] = groups()
                choices[f"c{c}"] = choice
            options[f"o{o}"] = {
                "display_name": f"Option {o}",
                "choices": choices,
                "unlisted_choice": {
                    "enabled": True,
                    "allowed_groups": groups(),
                    "validation_regex": "^[a-z0-9./:-]+$",
                    "kubespawner_override": {"image": "{value}"},
                },
            }
        profile: dict[str, Any] = {
            "slug": f"profile-{p:03d}",
            "display_name": f"Profile {p}",
            "description": "A generated profile.",
            "kubespawner_override": {"cpu_limit": 2.0, "mem_limit": "4G"},
            "profile_options": options,
        }
        if p % 2:
            profile["allowed_groups"] = groups()
        profile_list.append(profile)
    viewer = Viewer.of(rng.sample(names, PERSON_GROUPS))
    return profile_list, viewer


def structural_copy(profile_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """New dicts down to the choices, as the filter builds, without deciding anything."""
    return [
        {
            **profile,
            "profile_options": {
                name: {
                    **option,
                    "choices": {key: dict(choice) for key, choice in option["choices"].items()},
                    "unlisted_choice": dict(option["unlisted_choice"]),
                }
                for name, option in profile["profile_options"].items()
            },
        }
        for profile in profile_list
    ]


def timed(work: Callable[[], object], runs: int, inner: int) -> list[float]:
    work()
    per_call = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(inner):
            work()
        per_call.append((time.perf_counter() - start) / inner)
    return per_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--inner", type=int, default=20)
    parser.add_argument("--options", type=int, default=OPTIONS, help="options per profile")
    parser.add_argument("--choices", type=int, default=CHOICES, help="choices per option")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5")

    profile_list, viewer = build(option_count=args.options, choice_count=args.choices)
    visible = visible_profiles(profile_list, viewer, override_key="kubespawner_override")
    open_profiles = sum("allowed_groups" not in p for p in profile_list)
    assert len(visible) >= open_profiles
    assert all("allowed_groups" not in repr(p) for p in visible)
    wanted = visible[-1]
    options = {"profile": wanted["slug"], "o0": "c0"}
    assert check_user_options(options, visible).slug == wanted["slug"]
    kept_choices = sum(len(o["choices"]) for p in visible for o in p["profile_options"].values())

    rows = [
        ("baseline: deepcopy of the unfiltered list", lambda: copy.deepcopy(profile_list)),
        ("structural copy, unfiltered (same depth)", lambda: structural_copy(profile_list)),
        (
            "visible_profiles (the list compiled once, then filtered per person)",
            lambda: visible_profiles(profile_list, viewer, override_key="kubespawner_override"),
        ),
        (
            "checked_visible_profiles (checks and copies everything at each call)",
            lambda: checked_visible_profiles(
                profile_list, viewer, override_key="kubespawner_override"
            ),
        ),
        (
            "compiling the list (once per configured list)",
            lambda: CompiledProfiles(profile_list, override_key="kubespawner_override"),
        ),
        ("check_user_options (one request)", lambda: check_user_options(options, visible)),
    ]
    results = [(name, timed(work, args.runs, args.inner)) for name, work in rows]
    base = statistics.median(results[0][1])

    print(
        f"{PROFILES} profiles x {args.options} options x {args.choices} choices (+ unlisted), "
        "person in "
        f"{PERSON_GROUPS} of {GROUPS} groups: {len(visible)} profiles and {kept_choices} "
        f"choices visible"
    )
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {args.runs} runs x "
        f"{args.inner} calls (time per call)\n"
    )
    print("| what | median | min | max | median / baseline |")
    print("|---|---:|---:|---:|---:|")
    for name, times in results:
        median = statistics.median(times)
        print(
            f"| {name} | {median * 1e3:.2f} ms | {min(times) * 1e3:.2f} ms | "
            f"{max(times) * 1e3:.2f} ms | {median / base:.2f} |"
        )


if __name__ == "__main__":
    main()
