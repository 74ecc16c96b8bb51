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

    python -m benchmarks.bench_profiles [--runs 15] [--inner 20] [--options 10] [--choices 5]
        [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import _hubs  # noqa: E402
from benchmarks.report import fmt_ratio, fmt_stats, markdown_table, met, ratio, stats, summary_row  # noqa: E402
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


TARGET_MS = 5.0


def measure(*, runs: int, inner: int, options: int, choices: int, command: str) -> dict[str, Any]:
    profile_list, viewer = build(option_count=options, choice_count=choices)
    visible = visible_profiles(profile_list, viewer, override_key="kubespawner_override")
    open_profiles = sum("allowed_groups" not in p for p in profile_list)
    assert len(visible) >= open_profiles
    assert all("allowed_groups" not in repr(p) for p in visible)
    wanted = visible[-1]
    user_options = {"profile": wanted["slug"], "o0": "c0"}
    assert check_user_options(user_options, visible).slug == wanted["slug"]
    kept_choices = sum(len(o["choices"]) for p in visible for o in p["profile_options"].values())

    rows = [
        ("baseline: deepcopy of the unfiltered list", lambda: copy.deepcopy(profile_list)),
        ("structural copy, unfiltered (same depth)", lambda: structural_copy(profile_list)),
        (
            "**visible_profiles** (compiled once, filtered per person)",
            lambda: visible_profiles(profile_list, viewer, override_key="kubespawner_override"),
        ),
        (
            "checked_visible_profiles (checks and copies at each call)",
            lambda: checked_visible_profiles(
                profile_list, viewer, override_key="kubespawner_override"
            ),
        ),
        (
            "compiling the list (once per configured list)",
            lambda: CompiledProfiles(profile_list, override_key="kubespawner_override"),
        ),
        ("check_user_options (one request)", lambda: check_user_options(user_options, visible)),
    ]
    results = {name: stats([t * 1e3 for t in timed(work, runs, inner)]) for name, work in rows}
    base = results[rows[0][0]]["median"]
    mine = results[rows[2][0]]
    plural = "s" if options != 1 else ""
    shape = (
        f"{PROFILES} profiles \u00d7 {options} option{plural} \u00d7 {choices} choices (+ unlisted)"
    )
    return {
        "id": "P7",
        "db": None,
        "date": _hubs.today(),
        "command": command,
        "setup": (
            f"{shape}; person in {PERSON_GROUPS} of {GROUPS} groups sees {len(visible)} "
            f"profiles and {kept_choices:,} choices; Python {platform.python_version()}; "
            f"{runs} runs \u00d7 {inner} calls after a warm-up, time per call; load average "
            f"{os.getloadavg()[0]:.1f} at the end."
        ),
        "table": {
            "header": ["what", "median", "min", "max", "median / baseline"],
            "rows": [
                [
                    name,
                    f"{s['median']:.2f} ms",
                    f"{s['min']:.2f} ms",
                    f"{s['max']:.2f} ms",
                    fmt_ratio(ratio(s["median"], base)),
                ]
                for name, s in results.items()
            ],
        },
        "summary": [
            summary_row(
                "P7",
                f"visible_profiles, {shape}",
                fmt_stats(mine, digits=2),
                baseline=f"deepcopy {base:.2f} ms",
                ratio_text=fmt_ratio(ratio(mine["median"], base)),
                target=f"≤ {TARGET_MS:g} ms",
                met_text=met(mine["median"], TARGET_MS),
            )
        ],
        "series": {name: dict(s) for name, s in results.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--inner", type=int, default=20)
    parser.add_argument("--options", type=int, default=OPTIONS, help="options per profile")
    parser.add_argument("--choices", type=int, default=CHOICES, help="choices per option")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    command = (
        f"python -m benchmarks.bench_profiles --runs {args.runs} --inner {args.inner} "
        f"--options {args.options} --choices {args.choices}"
    )
    result = measure(
        runs=args.runs,
        inner=args.inner,
        options=args.options,
        choices=args.choices,
        command=command,
    )
    if args.json:
        print(json.dumps(result))
        return
    print(result["setup"])
    print(markdown_table(result["table"]["header"], result["table"]["rows"]))


if __name__ == "__main__":
    main()
