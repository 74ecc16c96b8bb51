"""Run every benchmark and (re)write ``BENCHMARKS.md``.

    python -m benchmarks.run_all [--quick] [--runs N] [--db sqlite,postgresql]
        [--only P1,P2,P4,P5,P6,P7,P9] [--sync-scale 10000,2000] [--render-only]

Each benchmark runs as its own process (``python -m benchmarks.bench_… --json``), one after the
other, so that one benchmark's hubs never load the machine under another. Its result (a dict:
see ``benchmarks/report.py``) replaces the stored one with the same id, database and variant in
``benchmarks/results.json``; then ``BENCHMARKS.md`` is rendered from every stored result and the
prose in ``benchmarks/BENCHMARKS.template.md``. So a benchmark left out (``--only``) keeps its
last figures, with the date they were measured.

P2/P3/P8 (the sync at scale) take about 20 minutes per run at the full scale; ``--sync-scale``
sets people and groups for them, and for P9 (the audit at scale: one hub populated once, about
10 minutes in all). ``--quick`` is for checking that everything works: smaller
scales and fewer requests (still 5 runs, except P5 with 3 and P2 with 1); unless ``--results``
or ``--output`` is given, it writes both to a new temporary directory (printed at the end), not
over the published figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results.json"
TEMPLATE = HERE / "BENCHMARKS.template.md"
OUTPUT = REPO / "BENCHMARKS.md"
ORDER = ("P1", "P2", "P4", "P5", "P6", "P7", "P9")
HOURS = 3600


@dataclass(frozen=True)
class Options:
    runs: int | None
    quick: bool
    sync_scale: tuple[int, int]


@dataclass(frozen=True)
class Spec:
    """One benchmark invocation: id, module, variant (when one id has several), whether it
    starts hubs (then once per database), its arguments, and a time limit."""

    bench_id: str
    module: str
    arguments: Callable[[Options], list[str]]
    uses_db: bool = True
    variant: str = ""
    timeout: float = 2 * HOURS


def _runs(options: Options, default: int) -> list[str]:
    return ["--runs", str(options.runs or default)]


SPECS = (
    Spec(
        "P1",
        "benchmarks.bench_login",
        lambda o: [
            *_runs(o, 5),
            "--logins",
            "5" if o.quick else "10",
            *(["--people", "300", "--groups", "60"] if o.quick else []),
        ],
    ),
    Spec(
        "P2",
        "benchmarks.bench_sync",
        lambda o: [
            *_runs(o, 1 if o.quick else 5),
            "--people",
            str(1000 if o.quick else o.sync_scale[0]),
            "--groups",
            str(200 if o.quick else o.sync_scale[1]),
        ],
        timeout=12 * HOURS,
    ),
    Spec(
        "P4",
        "benchmarks.bench_authz",
        lambda o: [
            *_runs(o, 5),
            "--requests",
            "20" if o.quick else "40",
            *(["--people", "300", "--groups", "60"] if o.quick else []),
        ],
    ),
    Spec(
        "P5",
        "benchmarks.bench_revocation",
        lambda o: [
            *_runs(o, 3 if o.quick else 5),
            *(["--sync-interval", "5"] if o.quick else []),
        ],
    ),
    Spec(
        "P6",
        "benchmarks.bench_ldap",
        lambda o: [
            *_runs(o, 5 if o.quick else 9),
            *(["--people", "2000", "--groups", "400"] if o.quick else []),
        ],
        uses_db=False,
    ),
    Spec(
        "P7",
        "benchmarks.bench_profiles",
        lambda o: [
            *_runs(o, 5 if o.quick else 15),
            "--inner",
            "5" if o.quick else "20",
        ],
        uses_db=False,
        variant="10x5",
        timeout=HOURS,
    ),
    Spec(
        "P7",
        "benchmarks.bench_profiles",
        lambda o: [
            *_runs(o, 5 if o.quick else 15),
            "--inner",
            "5" if o.quick else "20",
            "--options",
            "1",
            "--choices",
            "10",
        ],
        uses_db=False,
        variant="1x10",
        timeout=HOURS,
    ),
    Spec(
        "P9",
        "benchmarks.bench_audit",
        lambda o: [
            *_runs(o, 5),
            "--people",
            str(1000 if o.quick else o.sync_scale[0]),
            "--groups",
            str(200 if o.quick else o.sync_scale[1]),
        ],
    ),
)


def result_key(result: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(result["id"]), str(result.get("db") or ""), str(result.get("variant") or ""))


def merge(stored: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[Any]:
    """``stored`` with every result of ``new`` replacing the one with the same key."""
    replaced = {result_key(r) for r in new}
    return [*(r for r in stored if result_key(r) not in replaced), *new]


def run_one(spec: Spec, options: Options, db: str | None) -> dict[str, Any]:
    args = spec.arguments(options) + (["--db", db] if db else [])
    cmd = [sys.executable, "-m", spec.module, *args, "--json"]
    print(f"== {spec.bench_id} {spec.variant} {db or ''}: {' '.join(cmd[1:])}", file=sys.stderr)
    # stderr (progress lines, hub failures) goes straight to the person watching
    done = subprocess.run(
        cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, timeout=spec.timeout, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if spec.variant:
        result["variant"] = spec.variant
    return result


def load_results(path: Path) -> list[Any]:
    return list(json.loads(path.read_text())) if path.exists() else []


def write_report(results: Sequence[Mapping[str, Any]], template: Path, output: Path) -> None:
    from benchmarks.report import render

    output.write_text(render(template.read_text(), results, ORDER).rstrip() + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scales, to check it works")
    parser.add_argument("--runs", type=int, help="runs of every benchmark (default: its own)")
    parser.add_argument("--db", default="sqlite,postgresql", help="databases, comma-separated")
    parser.add_argument("--only", default=",".join(ORDER), help="benchmark ids, comma-separated")
    parser.add_argument("--sync-scale", default="10000,2000", help="P2/P3/P8 people,groups")
    parser.add_argument("--render-only", action="store_true", help="only rewrite BENCHMARKS.md")
    parser.add_argument("--results", type=Path, help=f"default: {RESULTS.relative_to(REPO)}")
    parser.add_argument("--output", type=Path, help="default: BENCHMARKS.md")
    args = parser.parse_args(argv)
    stored = load_results(args.results or RESULTS)
    if args.quick and args.results is None and args.output is None:
        # quick figures are for checking that everything runs, never for the published file
        scratch = Path(tempfile.mkdtemp(prefix="benchmarks-quick-"))
        args.results, args.output = scratch / "results.json", scratch / "BENCHMARKS.md"
    args.results = args.results or RESULTS
    args.output = args.output or OUTPUT
    if args.runs is not None and args.runs < 3:
        parser.error("--runs must be at least 3")
    only = {part.strip().upper() for part in args.only.split(",") if part.strip()}
    if unknown := only - set(ORDER):
        parser.error(f"unknown benchmarks {sorted(unknown)}; P3 and P8 come with P2")
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    people, groups = (int(x) for x in args.sync_scale.split(","))
    options = Options(runs=args.runs, quick=args.quick, sync_scale=(people, groups))
    sys.path.insert(0, str(REPO))
    if not args.render_only:
        for spec in (s for s in SPECS if s.bench_id in only):
            for db in dbs if spec.uses_db else [None]:
                result = run_one(spec, options, db)
                # stored after each benchmark: a later failure keeps what was measured
                stored = merge(stored, [result])
                args.results.write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n")
                write_report(stored, TEMPLATE, args.output)
    write_report(stored, TEMPLATE, args.output)
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
