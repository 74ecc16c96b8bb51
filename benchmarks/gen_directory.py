"""Generate a synthetic directory as LDIF (for slapadd) and as the jupyterhub-teams YAML format.

The same people and groups come out in both forms, so a test or a benchmark can load the LDIF
into a real slapd and compare what a source reads against the YAML (or :meth:`expected`).

Shape of the default directory (the benchmark's): 10,000 people, 2,000 groups, each person in
5 groups on average, 1% of people in 50 groups. Group kinds rotate through the membership schemas
an LDAP source has to understand:

* ``posixGroup`` — members as ``memberUid: <uid>``;
* ``groupOfNames`` — members as ``member: <person DN>``;
* ``groupOfUniqueNames`` — members as ``uniqueMember: <person DN>``;
* ``posixGroup+groupOfNames`` — a groupOfNames that also carries ``gidNumber`` and
  ``memberUid`` (``extensibleObject``: the two structural classes cannot be combined).

``groupOfNames`` and ``groupOfUniqueNames`` must have at least one member; an empty one gets a
placeholder DN that is nobody, as directories commonly do.

Usage::

    python benchmarks/gen_directory.py OUT_DIR [--people N] [--groups N] [--seed N]

writes ``OUT_DIR/directory.ldif`` and ``OUT_DIR/directory.yaml``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BASE_DN = "dc=example,dc=org"
READER_RDN = "cn=reader"
READER_PASSWORD = "reader-secret"
PERSON_PASSWORD = "secret"  # every generated person's own password
PLACEHOLDER_MEMBER = "cn=nobody"
GROUP_KINDS = ("posixGroup", "groupOfNames", "groupOfUniqueNames", "posixGroup+groupOfNames")


@dataclass
class GeneratedPerson:
    uid: str
    uid_number: int
    password: str


@dataclass
class GeneratedGroup:
    name: str
    gid_number: int
    kind: str
    members: list[str] = field(default_factory=list)

    @property
    def has_gid(self) -> bool:
        return self.kind in ("posixGroup", "posixGroup+groupOfNames")

    @property
    def by_uid(self) -> bool:
        return self.kind in ("posixGroup", "posixGroup+groupOfNames")

    @property
    def by_dn(self) -> str | None:
        """The attribute holding member DNs, if this kind has one."""
        if self.kind in ("groupOfNames", "posixGroup+groupOfNames"):
            return "member"
        if self.kind == "groupOfUniqueNames":
            return "uniqueMember"
        return None


def ssha(password: str, salt: bytes) -> str:
    """An OpenLDAP ``{SSHA}`` hash, so that slapd checks simple binds against it."""
    digest = hashlib.sha1(password.encode() + salt, usedforsecurity=False).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _ldif_line(attr: str, value: str) -> str:
    # RFC 2849: a value that is not "safe" (leading space/colon/<, non-ASCII) is base64.
    safe = value.isascii() and not value.startswith((" ", ":", "<")) and "\n" not in value
    if safe and not value.endswith(" "):
        return f"{attr}: {value}"
    return f"{attr}:: {base64.b64encode(value.encode()).decode()}"


@dataclass
class GeneratedDirectory:
    people: list[GeneratedPerson]
    groups: list[GeneratedGroup]
    base_dn: str = BASE_DN

    @property
    def people_dn(self) -> str:
        return f"ou=people,{self.base_dn}"

    @property
    def groups_dn(self) -> str:
        return f"ou=groups,{self.base_dn}"

    @property
    def reader_dn(self) -> str:
        return f"{READER_RDN},{self.base_dn}"

    def person_dn(self, uid: str) -> str:
        return f"uid={uid},{self.people_dn}"

    def group_dn(self, name: str) -> str:
        return f"cn={name},{self.groups_dn}"

    def group(self, name: str) -> GeneratedGroup:
        return next(g for g in self.groups if g.name == name)

    def memberships(self) -> int:
        return sum(len(g.members) for g in self.groups)

    def entries(self) -> int:
        # base, two OUs and the reader account, then people and groups
        return 4 + len(self.people) + len(self.groups)

    def expected(self) -> dict[str, set[str]]:
        """Group name → member uids: what a correct reader of the LDIF must find."""
        return {g.name: set(g.members) for g in self.groups}

    def _entries(self, member_of: bool) -> Iterator[list[str]]:
        dc = self.base_dn.split(",")[0].split("=", 1)[1]
        yield [
            f"dn: {self.base_dn}",
            "objectClass: dcObject",
            "objectClass: organization",
            f"dc: {dc}",
            "o: Example",
        ]
        for ou in ("people", "groups"):
            yield [
                f"dn: ou={ou},{self.base_dn}",
                "objectClass: organizationalUnit",
                f"ou: {ou}",
            ]
        yield [
            f"dn: {self.reader_dn}",
            "objectClass: organizationalRole",
            "objectClass: simpleSecurityObject",
            f"{READER_RDN.replace('=', ': ', 1)}",
            _ldif_line("userPassword", ssha(READER_PASSWORD, b"reader01")),
        ]
        groups_of: dict[str, list[str]] = {}
        if member_of:
            for g in self.groups:
                if g.by_dn == "member":
                    for uid in g.members:
                        groups_of.setdefault(uid, []).append(self.group_dn(g.name))
        for i, p in enumerate(self.people):
            lines = [
                f"dn: {self.person_dn(p.uid)}",
                "objectClass: inetOrgPerson",
                "objectClass: posixAccount",
                f"uid: {p.uid}",
                f"cn: Person {p.uid}",
                f"sn: {p.uid}",
                f"uidNumber: {p.uid_number}",
                f"gidNumber: {p.uid_number}",
                f"homeDirectory: /home/{p.uid}",
                _ldif_line("userPassword", ssha(p.password, i.to_bytes(4, "big") + b"salt")),
            ]
            lines += [f"memberOf: {dn}" for dn in groups_of.get(p.uid, [])]
            yield lines
        for g in self.groups:
            lines = [f"dn: {self.group_dn(g.name)}"]
            if g.kind == "posixGroup":
                lines.append("objectClass: posixGroup")
            elif g.kind == "groupOfUniqueNames":
                lines.append("objectClass: groupOfUniqueNames")
            else:
                lines.append("objectClass: groupOfNames")
                if g.kind == "posixGroup+groupOfNames":
                    lines.append("objectClass: extensibleObject")
            lines.append(f"cn: {g.name}")
            if g.has_gid:
                lines.append(f"gidNumber: {g.gid_number}")
            if g.by_uid:
                lines += [f"memberUid: {uid}" for uid in g.members]
            attr = g.by_dn
            if attr:
                dns = [self.person_dn(uid) for uid in g.members]
                lines += [f"{attr}: {dn}" for dn in dns or [PLACEHOLDER_MEMBER]]
            yield lines

    def ldif(self, *, member_of: bool = False) -> str:
        """The whole directory as LDIF; ``member_of`` adds ``memberOf`` to people (needs the
        memberof overlay's schema in slapd) for their ``member``-based groups."""
        return "\n\n".join("\n".join(e) for e in self._entries(member_of)) + "\n"

    def yaml(self) -> str:
        """The same directory in the jupyterhub-teams YAML format."""
        data = {
            "users": {p.uid: {"uid": p.uid_number} for p in self.people},
            "groups": {
                g.name: (
                    {"gid": g.gid_number, "members": sorted(g.members)}
                    if g.has_gid
                    else {"members": sorted(g.members)}
                )
                for g in self.groups
            },
        }
        return yaml.safe_dump(data, sort_keys=False)


def generate(
    people: int = 10_000,
    groups: int = 2_000,
    *,
    mean_groups: float = 5.0,
    heavy_fraction: float = 0.01,
    heavy_groups: int = 50,
    seed: int = 1,
    person_prefix: str = "p",
    group_prefix: str = "team-",
    password: str = PERSON_PASSWORD,
) -> GeneratedDirectory:
    """A reproducible directory (the same ``seed`` gives the same directory).

    ``heavy_fraction`` of the people are in ``heavy_groups`` groups each; the others are spread
    so that the mean over everyone is about ``mean_groups``.
    """
    if heavy_groups > groups:
        raise ValueError("heavy_groups cannot exceed the number of groups")
    rng = random.Random(seed)
    width_p, width_g = len(str(people)), len(str(groups))
    persons = [
        GeneratedPerson(f"{person_prefix}{i:0{width_p}d}", 10_000 + i, password)
        for i in range(1, people + 1)
    ]
    made = [
        GeneratedGroup(f"{group_prefix}{j:0{width_g}d}", 20_000 + j, GROUP_KINDS[j % 4])
        for j in range(1, groups + 1)
    ]
    heavy = max(1, round(people * heavy_fraction)) if heavy_fraction > 0 else 0
    chosen_heavy = set(rng.sample(range(people), heavy))
    rest = people - heavy
    # what the others need on average for the overall mean; uniform on [1, 2m-1] has mean m
    rest_mean = (mean_groups * people - heavy * heavy_groups) / rest if rest else 0.0
    top = max(1, min(groups, round(2 * rest_mean - 1)))
    for i, person in enumerate(persons):
        k = heavy_groups if i in chosen_heavy else rng.randint(1, top)
        for j in rng.sample(range(groups), k):
            made[j].members.append(person.uid)
    return GeneratedDirectory(persons, made)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--member-of", action="store_true", help="add memberOf to people")
    args = parser.parse_args()
    directory = generate(args.people, args.groups, seed=args.seed)
    os.makedirs(args.out, exist_ok=True)
    (args.out / "directory.ldif").write_text(directory.ldif(member_of=args.member_of))
    (args.out / "directory.yaml").write_text(directory.yaml())
    print(
        f"{len(directory.people)} people, {len(directory.groups)} groups, "
        f"{directory.memberships()} memberships "
        f"({directory.memberships() / len(directory.people):.2f} per person) → {args.out}"
    )


if __name__ == "__main__":
    main()
