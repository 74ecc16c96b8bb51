"""How fast can a sync read a large directory from slapd: ldap3 against python-ldap.

Generates the directory (``gen_directory.generate``: 10,000 people, 2,000 groups, 5 groups per
person on average, 1% of people in 50 groups, posixGroup / groupOfNames / groupOfUniqueNames /
both), loads it into a real slapd with slapadd, and times a *full read* with each library, the
same work a sync does: bind as an ordinary (non-root) account, a paged search of the people
(uid, uidNumber) and of the groups (cn, gidNumber, memberUid, member, uniqueMember), values
decoded to ``str``, member DNs resolved to uids. Every reader's answer is checked against the
generated directory before anything is timed.

Each library runs ``--runs`` times (alternating, after one warm-up each); the table gives the
median, min and max wall time, the client's own CPU time (slapd's is not counted), entries per
second at the median, and the ratio of medians. ``LDAPDirectory.snapshot()`` (the real source,
on its chosen library, through ``asyncio.to_thread``) is timed the same way.

Usage::

    python -m benchmarks.bench_ldap [--people 10000] [--groups 2000] [--runs 7]
        [--page-size 500] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import _hubs  # noqa: E402
from benchmarks.gen_directory import READER_PASSWORD, GeneratedDirectory, generate  # noqa: E402
from benchmarks.report import fmt_ratio, markdown_table, ratio, stats, summary_row  # noqa: E402
from tests.e2e.slapd import Slapd  # noqa: E402

PEOPLE_FILTER = "(objectClass=posixAccount)"
GROUP_FILTER = (
    "(|(objectClass=posixGroup)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
)
PEOPLE_ATTRS = ["uid", "uidNumber"]
GROUP_ATTRS = ["cn", "gidNumber", "memberUid", "member", "uniqueMember"]

Entry = tuple[str, dict[str, list[str]]]


def _norm(dn: str) -> str:
    # the generated DNs are canonical already; both readers get the same simple rule
    return dn.replace(" ", "").lower()


def assemble(people: list[Entry], groups: list[Entry]) -> dict[str, set[str]]:
    """Group name → member uids, from raw entries (the same for both libraries)."""
    uid_of: dict[str, str] = {}
    for dn, attrs in people:
        if attrs.get("uid"):
            uid_of[_norm(dn)] = attrs["uid"][0]
    result: dict[str, set[str]] = {}
    for _dn, attrs in groups:
        members = set(attrs.get("memberUid", []))
        for attr in ("member", "uniqueMember"):
            for value in attrs.get(attr, []):
                uid = uid_of.get(_norm(value))
                if uid is not None:
                    members.add(uid)
        result[attrs["cn"][0]] = members
    return result


# -- python-ldap -------------------------------------------------------------------------------


def read_python_ldap(
    url: str, bind_dn: str, password: str, d: GeneratedDirectory, page: int
) -> tuple[list[Entry], list[Entry]]:
    import ldap
    from ldap.controls import SimplePagedResultsControl

    conn = ldap.initialize(url)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.simple_bind_s(bind_dn, password)

    def paged(base: str, filt: str, attrs: list[str]) -> Iterator[Entry]:
        control = SimplePagedResultsControl(True, size=page, cookie=b"")
        while True:
            msgid = conn.search_ext(base, ldap.SCOPE_SUBTREE, filt, attrs, serverctrls=[control])
            _, data, _, controls = conn.result3(msgid)
            for dn, raw in data:
                if dn is not None:
                    yield dn, {k: [v.decode() for v in vs] for k, vs in raw.items()}
            cookie = next((c.cookie for c in controls if c.controlType == control.controlType), b"")
            if not cookie:
                return
            control.cookie = cookie

    try:
        people = list(paged(d.people_dn, PEOPLE_FILTER, PEOPLE_ATTRS))
        groups = list(paged(d.groups_dn, GROUP_FILTER, GROUP_ATTRS))
    finally:
        conn.unbind_s()
    return people, groups


# -- ldap3 -------------------------------------------------------------------------------------


def read_ldap3(
    url: str, bind_dn: str, password: str, d: GeneratedDirectory, page: int
) -> tuple[list[Entry], list[Entry]]:
    import ldap3

    # no schema read: values come back as str lists, as with python-ldap above
    server = ldap3.Server(url, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, bind_dn, password, auto_bind=True, read_only=True)

    def paged(base: str, filt: str, attrs: list[str]) -> Iterator[Entry]:
        for e in conn.extend.standard.paged_search(
            base, filt, attributes=attrs, paged_size=page, generator=True
        ):
            if e.get("type") == "searchResEntry":
                yield e["dn"], {k: list(v) for k, v in e["attributes"].items() if v}

    try:
        people = list(paged(d.people_dn, PEOPLE_FILTER, PEOPLE_ATTRS))
        groups = list(paged(d.groups_dn, GROUP_FILTER, GROUP_ATTRS))
    finally:
        conn.unbind()
    return people, groups


Reader = Callable[[str, str, str, GeneratedDirectory, int], tuple[list[Entry], list[Entry]]]


def read_and_assemble(library: Reader, *args: Any) -> dict[str, set[str]]:
    return assemble(*library(*args))


# -- the real source ---------------------------------------------------------------------------


def make_source_reader(url: str, d: GeneratedDirectory, page: int) -> Callable[[], Any]:
    from traitlets.config import Config

    from jupyterhub_teams.sources.ldap import LDAPDirectory

    c = Config()
    c.LDAPDirectory.server_urls = [url]
    c.LDAPDirectory.bind_dn = d.reader_dn
    c.LDAPDirectory.people_base_dn = d.people_dn
    c.LDAPDirectory.group_base_dn = d.groups_dn
    c.LDAPDirectory.page_size = page
    c.LDAPDirectory.timeout = 60
    c.LDAPDirectory.snapshot_timeout = 300
    source = LDAPDirectory(config=c)

    def read() -> dict[str, set[str]]:
        snapshot = asyncio.run(source.snapshot())
        assert snapshot.complete
        return {name: set(g.members) for name, g in snapshot.groups.items()}

    return read


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def measure(*, people: int, groups: int, runs: int, page_size: int, command: str) -> dict[str, Any]:
    directory = generate(people, groups)
    expected = directory.expected()
    entries = len(directory.people) + len(directory.groups)
    os.environ["LDAP_BIND_PASSWORD"] = READER_PASSWORD
    with tempfile.TemporaryDirectory(prefix="bench-ldap-") as tmp:
        slapd = Slapd(Path(tmp))
        started = time.perf_counter()
        slapd.load_directory(directory)
        load_s = time.perf_counter() - started
        slapd.start()
        try:
            readers: dict[str, Callable[[], Any]] = {}
            for name, library in (("python-ldap", read_python_ldap), ("ldap3", read_ldap3)):
                readers[name] = functools.partial(
                    read_and_assemble,
                    library,
                    slapd.url,
                    directory.reader_dn,
                    READER_PASSWORD,
                    directory,
                    page_size,
                )
            readers["`LDAPDirectory.snapshot()`"] = make_source_reader(
                slapd.url, directory, page_size
            )
            for name, read in readers.items():
                got = read()  # warm-up, and the answer must be right before it is timed
                if got != expected:
                    wrong = [g for g in expected if got.get(g) != expected[g]][:5]
                    raise SystemExit(f"{name} read a different directory (groups {wrong})")
            samples: dict[str, list[tuple[float, float]]] = {n: [] for n in readers}
            for _ in range(runs):
                for name, read in readers.items():
                    wall, cpu, _ = timed(read)
                    samples[name].append((wall, cpu))
        finally:
            slapd.stop()

    versions = {"python-ldap": _version("python-ldap"), "ldap3": _version("ldap3")}
    rows = []
    medians: dict[str, float] = {}
    for name, measured in samples.items():
        walls = stats([w for w, _ in measured])
        medians[name] = walls["median"]
        label = f"{name} {versions[name]}" if name in versions else name
        rows.append(
            [
                label,
                f"{walls['median']:.3f}",
                f"{walls['min']:.3f}",
                f"{walls['max']:.3f}",
                f"{statistics.median(c for _, c in measured):.3f}",
                f"{entries / walls['median']:,.0f}",
            ]
        )
    slower = ratio(medians["ldap3"], medians["python-ldap"])
    return {
        "id": "P6",
        "db": None,
        "date": _hubs.today(),
        "command": command,
        "setup": (
            f"{len(directory.people):,} people, {len(directory.groups):,} groups, "
            f"{directory.memberships():,} memberships, {entries:,} entries read per run "
            f"(slapadd {load_s:.1f} s); {platform.python_implementation()} "
            f"{platform.python_version()}, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f} at the end; page size {page_size}; {runs} runs each."
        ),
        "table": {
            "header": [
                "reader",
                "median s",
                "min s",
                "max s",
                "client CPU s (median)",
                "entries/s (median)",
            ],
            "rows": rows,
        },
        "summary": [
            summary_row(
                "P6",
                "full directory read: ldap3 vs python-ldap (the library chosen)",
                f"python-ldap {medians['python-ldap']:.3f} s",
                baseline=f"ldap3 {medians['ldap3']:.3f} s",
                ratio_text=f"ldap3 {fmt_ratio(slower)} slower",
                target="choose the faster",
                met_text="yes" if slower >= 1 else "**no**",
            ),
            summary_row(
                "P6",
                "`LDAPDirectory.snapshot()` (the finished source)",
                f"{medians['`LDAPDirectory.snapshot()`']:.3f} s",
                baseline=f"python-ldap {medians['python-ldap']:.3f} s",
                ratio_text=fmt_ratio(
                    ratio(medians["`LDAPDirectory.snapshot()`"], medians["python-ldap"])
                ),
            ),
        ],
        "series": {name: [w for w, _ in measured] for name, measured in samples.items()},
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    command = (
        f"python -m benchmarks.bench_ldap --people {args.people} --groups {args.groups} "
        f"--runs {args.runs} --page-size {args.page_size}"
    )
    result = measure(
        people=args.people,
        groups=args.groups,
        runs=args.runs,
        page_size=args.page_size,
        command=command,
    )
    if args.json:
        print(json.dumps(result))
        return
    print(result["setup"])
    print(markdown_table(result["table"]["header"], result["table"]["rows"]))
    print(f"ldap3 / python-ldap (median wall time): {result['summary'][0]['ratio']}")


if __name__ == "__main__":
    main()
