"""The pure part of the benchmark report: summary statistics, ratios, target checks, Markdown.

Every benchmark module returns its figures as a plain dict (a *result*, JSON-serialisable) built
with these helpers; ``run_all`` stores results and renders ``BENCHMARKS.md`` from them. Nothing
here does I/O, so it is unit-tested by value.

A result::

    {
      "id": "P4", "db": "sqlite", "date": "2026-11-23",
      "command": "python -m benchmarks.bench_authz --db sqlite --runs 5",
      "setup": "1,000 people, 200 groups; 5 runs of 40 requests; load average 1.2",
      "table": {"header": [...], "rows": [[...], ...]},
      "summary": [{"id": "P4", "measure": ..., "result": ..., "baseline": ..., "ratio": ...,
                   "target": ..., "met": ...}, ...],
    }
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Stats = dict[str, float]

SUMMARY_HEADER = ("id", "measure", "result", "baseline", "ratio", "target", "met?")
SUMMARY_KEYS = ("id", "measure", "result", "baseline", "ratio", "target", "met")


def stats(values: Sequence[float]) -> Stats:
    """Median, min and max of ``values`` and how many there were."""
    if not values:
        raise ValueError("no values to summarise")
    return {
        "median": float(statistics.median(values)),
        "min": float(min(values)),
        "max": float(max(values)),
        "runs": float(len(values)),
    }


def ratio(value: float, baseline: float) -> float:
    """``value / baseline``; a zero baseline has no meaningful ratio."""
    if baseline == 0:
        raise ZeroDivisionError("the baseline is zero")
    return value / baseline


def fmt_stats(s: Mapping[str, float], unit: str = "ms", digits: int = 1) -> str:
    """``"24.7 ms (18.5-94.0)"`` (with an en dash): the median with the range over the runs."""
    gap = "" if unit in ("\u00d7", "%") else " "
    return f"{s['median']:.{digits}f}{gap}{unit} ({s['min']:.{digits}f}\u2013{s['max']:.{digits}f})"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}\u00d7"


def met(value: float, limit: float) -> str:
    """Whether a figure meets an upper-bound target: "yes" or "**no**" (missed targets stand out
    in the rendered table)."""
    return "yes" if value <= limit else "**no**"


def summary_row(
    bench_id: str,
    measure: str,
    result: str,
    *,
    baseline: str = "—",
    ratio_text: str = "—",
    target: str = "—",
    met_text: str = "—",
) -> dict[str, str]:
    return {
        "id": bench_id,
        "measure": measure,
        "result": result,
        "baseline": baseline,
        "ratio": ratio_text,
        "target": target,
        "met": met_text,
    }


def _cell(value: Any) -> str:
    # a pipe inside a cell would split it into two columns
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; every row must have as many cells as the header."""
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |"]
    lines.append("|" + "---|" * len(header))
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row {list(row)!r} has {len(row)} cells, expected {len(header)}")
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return "\n".join(lines)


def db_label(db: str | None) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(db or "", "")


def summary_table(results: Iterable[Mapping[str, Any]]) -> str:
    """One row per summary entry of every result, the database (if any) next to the id."""
    rows = []
    for result in results:
        label = db_label(result.get("db"))
        for entry in result.get("summary", []):
            cells = [entry[key] for key in SUMMARY_KEYS]
            if label:
                cells[0] = f"{cells[0]} ({label})"
            cells.append(result.get("date", ""))
            rows.append(cells)
    return markdown_table([*SUMMARY_HEADER, "measured"], rows)


def result_section(result: Mapping[str, Any]) -> str:
    """The figures of one result: heading, reproduce command, conditions, table."""
    label = db_label(result.get("db"))
    title = f"#### {label or 'Figures'}, measured {result.get('date', '?')}"
    parts = [title, "", "```console", f"$ {result['command']}", "```"]
    if result.get("setup"):
        parts += ["", str(result["setup"])]
    table = result.get("table")
    if table:
        parts += ["", markdown_table(table["header"], table["rows"])]
    for note in result.get("notes", []):
        parts += ["", str(note)]
    return "\n".join(parts)


def render(template: str, results: Sequence[Mapping[str, Any]], order: Sequence[str]) -> str:
    """Fill ``template``: ``{{summary}}`` gets the summary table of ``results`` (in ``order`` of
    their ids, then SQLite before PostgreSQL), ``{{P1}}`` etc. the figures of that benchmark, or
    a line saying it was not measured yet."""
    rank = {bench_id: i for i, bench_id in enumerate(order)}
    db_rank = {"sqlite": 0, "postgresql": 1}
    ordered = sorted(
        results,
        key=lambda r: (rank.get(r["id"], len(rank)), db_rank.get(r.get("db") or "", 2)),
    )
    text = template.replace("{{summary}}", summary_table(ordered))
    for bench_id in order:
        mine = [r for r in ordered if r["id"] == bench_id]
        block = (
            "\n\n".join(result_section(r) for r in mine)
            if mine
            else "_Not measured yet: run the command below._"
        )
        text = text.replace("{{" + bench_id + "}}", block)
    return text
