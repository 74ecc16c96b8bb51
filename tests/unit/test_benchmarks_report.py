"""The pure part of the benchmark report: statistics, ratios, target checks and the Markdown."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.report import (
    fmt_ratio,
    fmt_stats,
    markdown_table,
    met,
    ratio,
    render,
    stats,
    summary_row,
    summary_table,
)
from benchmarks.run_all import merge


def result(bench_id: str, db: str | None, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": bench_id,
        "db": db,
        "date": "2026-11-23",
        "command": f"python -m benchmarks.bench_x --db {db}",
        "setup": "tiny",
        "table": {"header": ["what", "median"], "rows": [["login", value]]},
        "summary": [summary_row(bench_id, "login", value, ratio_text="1.50x", met_text="yes")],
        **extra,
    }


def test_stats_gives_median_min_max_and_count() -> None:
    assert stats([5.0, 1.0, 3.0, 9.0, 2.0]) == {
        "median": 3.0,
        "min": 1.0,
        "max": 9.0,
        "runs": 5.0,
    }
    # an even count takes the mean of the two middle values
    assert stats([4.0, 1.0, 3.0, 2.0])["median"] == 2.5
    with pytest.raises(ValueError):
        stats([])


def test_ratio_and_target_check() -> None:
    assert ratio(6.0, 4.0) == 1.5
    with pytest.raises(ZeroDivisionError):
        ratio(1.0, 0.0)
    assert met(1.5, 1.5) == "yes"  # a target "at most 1.5 times" is met at exactly 1.5
    assert met(1.51, 1.5) == "**no**"


def test_formatting() -> None:
    s = {"median": 24.66, "min": 18.5, "max": 94.04, "runs": 5.0}
    assert fmt_stats(s) == "24.7 ms (18.5\u201394.0)"
    assert fmt_stats(s, "s", 2) == "24.66 s (18.50\u201394.04)"
    assert fmt_stats({"median": 1.1, "min": 1.0, "max": 1.2}, "\u00d7", 2) == (
        "1.10\u00d7 (1.00\u20131.20)"
    )
    assert fmt_ratio(2.2049) == "2.20\u00d7"


def test_markdown_table_renders_cells_and_escapes_pipes() -> None:
    table = markdown_table(["a", "b"], [["1", "x|y"], [2.5, "z"]])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| 1 | x\\|y |", "| 2.5 | z |"]
    with pytest.raises(ValueError):
        markdown_table(["a", "b"], [["only one"]])


def test_summary_table_has_one_row_per_entry_with_the_database() -> None:
    table = summary_table([result("P1", "sqlite", "24.7 ms"), result("P7", None, "5.6 ms")])
    lines = table.splitlines()
    assert lines[0] == "| id | measure | result | baseline | ratio | target | met? | measured |"
    assert lines[2] == "| P1 (SQLite) | login | 24.7 ms | — | 1.50x | — | yes | 2026-11-23 |"
    assert lines[3] == "| P7 | login | 5.6 ms | — | 1.50x | — | yes | 2026-11-23 |"
    assert len(lines) == 4


def test_render_fills_the_template_in_order() -> None:
    template = "# B\n\n{{summary}}\n\n## P1\n\n{{P1}}\n\n## P4\n\n{{P4}}\n"
    results = [result("P1", "postgresql", "30 ms"), result("P1", "sqlite", "25 ms")]
    text = render(template, results, ["P1", "P4"])
    # SQLite before PostgreSQL, in the summary and in the section
    assert text.index("| P1 (SQLite) |") < text.index("| P1 (PostgreSQL) |")
    assert text.index("#### SQLite, measured 2026-11-23") < text.index("#### PostgreSQL")
    assert "$ python -m benchmarks.bench_x --db sqlite" in text
    assert "| login | 25 ms |" in text
    assert "_Not measured yet" in text.split("## P4")[1]
    assert "{{" not in text


def test_merge_replaces_only_the_same_benchmark_database_and_variant() -> None:
    old = [
        result("P1", "sqlite", "1"),
        result("P1", "postgresql", "2"),
        result("P7", None, "3", variant="10x5"),
        result("P7", None, "4", variant="1x10"),
    ]
    merged = merge(old, [result("P1", "sqlite", "9"), result("P7", None, "8", variant="1x10")])
    values = sorted(
        (r["id"], r["db"] or "", r.get("variant", ""), r["table"]["rows"][0][1]) for r in merged
    )
    assert values == [
        ("P1", "postgresql", "", "2"),
        ("P1", "sqlite", "", "9"),
        ("P7", "", "10x5", "3"),
        ("P7", "", "1x10", "8"),
    ]
