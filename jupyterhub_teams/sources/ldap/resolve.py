"""From LDAP entries to people, groups and memberships: DN parsing and comparison, and the
assembly of a snapshot's people and groups. Pure (no I/O), unit-tested without a server."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import ldap  # type: ignore[import-untyped]
import ldap.dn  # type: ignore[import-untyped]

from ...model import DirectoryGroup, Person

# An entry as this module handles it: its DN and its attributes, names lower-cased, values str.
Entry = tuple[str, dict[str, list[str]]]
NormalDN = str


# -- pure helpers (unit-tested without a server) -----------------------------------------------


# No escapes, quotes, hex values or multi-valued RDNs: split by hand, which is many times
# faster than libldap's parser called through Python (a big directory has ~10^5 member DNs).
_PLAIN_DN = re.compile(r"^[^\\\"+#;<>]+$")


def split_dn(dn: str) -> list[list[tuple[str, str]]] | None:
    """A DN's RDNs as (attribute, value) pairs, values unescaped; None if it does not parse."""
    if _PLAIN_DN.match(dn):
        rdns: list[list[tuple[str, str]]] = []
        for part in dn.split(","):
            attr, sep, value = part.partition("=")
            attr, value = attr.strip(), value.strip()
            if not sep or not attr or not value:
                return None
            rdns.append([(attr, value)])
        return rdns
    try:
        parts = ldap.dn.str2dn(dn)
    except (ldap.DECODING_ERROR, TypeError, ValueError):
        return None
    if not parts:
        return None
    return [[(str(attr), str(value or "")) for attr, value, _ in rdn] for rdn in parts]


def normalize_dn(dn: str) -> NormalDN | None:
    """A DN in a form that compares equal for equal DNs, or None if it does not parse.

    Attribute types and values are compared case-insensitively with runs of spaces collapsed
    (the matching rules of the usual naming attributes: uid, cn, ou, dc), and a multi-valued
    RDN in any order. ``UID=Alice, ou=People,dc=example,dc=org`` equals
    ``uid=alice,ou=people,dc=example,dc=org``.
    """
    rdns = split_dn(dn)
    if rdns is None:
        return None
    # a string (its hash is cached, unlike a tuple's), joined with control characters that
    # cannot be confused with the unescaped values
    return "\x1e".join(
        "\x1f".join(
            sorted(f"{attr.lower()}\x1d{' '.join(value.split()).casefold()}" for attr, value in rdn)
        )
        for rdn in rdns
    )


def rdn_value(dn: str, attribute: str) -> str | None:
    """The value of ``attribute`` in the first RDN of ``dn`` (``uid=alice,...`` → ``alice``)."""
    rdns = split_dn(dn)
    if not rdns:
        return None
    for attr, value in rdns[0]:
        if attr.lower() == attribute.lower():
            return value
    return None


def _first(values: Sequence[str] | None) -> str | None:
    return values[0] if values else None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def _naming_value(dn: str, attrs: Mapping[str, list[str]], attribute: str) -> str | None:
    """An entry's name: the RDN's value when the RDN is ``attribute`` (a directory may hold
    several values of it, the RDN is the canonical one), else its first value."""
    values = attrs.get(attribute.lower()) or []
    from_rdn = rdn_value(dn, attribute)
    if from_rdn is not None and (not values or from_rdn in values):
        return from_rdn
    return _first(values)


@dataclass(frozen=True)
class Layout:
    """Which attributes mean what: the part of the configuration the assembly needs."""

    username_attribute: str = "uid"
    uid_number_attribute: str = "uidNumber"
    group_name_attribute: str = "cn"
    gid_number_attribute: str = "gidNumber"
    uid_member_attributes: tuple[str, ...] = ("memberUid",)
    dn_member_attributes: tuple[str, ...] = ("member", "uniqueMember")
    membership: str = "group"
    member_of_attribute: str = "memberOf"
    group_name_pattern: str = ""

    def people_attributes(self) -> list[str]:
        attrs = [self.username_attribute]
        if self.uid_number_attribute:
            attrs.append(self.uid_number_attribute)
        if self.membership == "member_of":
            attrs.append(self.member_of_attribute)
        return attrs

    def group_attributes(self) -> list[str]:
        attrs = [self.group_name_attribute]
        if self.gid_number_attribute:
            attrs.append(self.gid_number_attribute)
        if self.membership == "group":
            attrs += [*self.uid_member_attributes, *self.dn_member_attributes]
        return attrs


@dataclass
class Assembly:
    """A snapshot's people and groups, and what was left out of them and why."""

    people: dict[str, Person] = field(default_factory=dict)
    groups: dict[str, DirectoryGroup] = field(default_factory=dict)
    # counts, for the log: entries or values that did not make it into the snapshot
    unnamed_people: int = 0
    duplicate_people: int = 0
    unnamed_groups: int = 0
    duplicate_groups: int = 0
    groups_not_matching: int = 0
    unresolved_members: int = 0

    def describe(self) -> str:
        memberships = sum(len(g.members) for g in self.groups.values())
        text = f"{len(self.people)} people, {len(self.groups)} groups, {memberships} memberships"
        left_out = [
            (self.groups_not_matching, "groups not matching group_name_pattern"),
            (self.unresolved_members, "member values naming nobody among the people"),
            (self.unnamed_people, "people without a name attribute"),
            (self.unnamed_groups, "groups without a name attribute"),
            (self.duplicate_people, "people with a name already taken (first kept)"),
            (self.duplicate_groups, "groups with a name already taken (first kept)"),
        ]
        skipped = [f"{n} {what}" for n, what in left_out if n]
        return text + (f"; left out: {', '.join(skipped)}" if skipped else "")


def group_filter_matches(pattern: str, name: str) -> bool:
    """Whether the group ``name`` becomes a team: ``pattern`` must match all of it (empty: all)."""
    return not pattern or re.fullmatch(pattern, name) is not None


def assemble(people: Iterable[Entry], groups: Iterable[Entry], layout: Layout) -> Assembly:
    """Turn decoded people and group entries into people and groups with resolved members."""
    out = Assembly()
    normal_cache: dict[str, NormalDN | None] = {}

    def cached_normal(dn: str) -> NormalDN | None:
        # the same person's DN appears in many groups
        if dn not in normal_cache:
            normal_cache[dn] = normalize_dn(dn)
        return normal_cache[dn]

    name_of_dn: dict[NormalDN, str] = {}
    # memberUid is compared the way uid usually is, case-insensitively, and gives the person's
    # own spelling
    name_of_uid: dict[str, str] = {}
    people_member_of: list[tuple[str, list[str]]] = []
    uid_attr = layout.uid_number_attribute.lower()
    for dn, attrs in people:
        name = _naming_value(dn, attrs, layout.username_attribute)
        if not name:
            out.unnamed_people += 1
            continue
        if name in out.people:
            out.duplicate_people += 1
            continue
        uid = _int(_first(attrs.get(uid_attr))) if uid_attr else None
        out.people[name] = Person(name, uid)
        normal = normalize_dn(dn)
        if normal is not None:
            name_of_dn[normal] = name
        name_of_uid.setdefault(name.casefold(), name)
        if layout.membership == "member_of":
            people_member_of.append((name, attrs.get(layout.member_of_attribute.lower(), [])))

    gid_attr = layout.gid_number_attribute.lower()
    members_of: dict[str, set[str]] = {}
    gid_of: dict[str, int | None] = {}
    group_of_dn: dict[NormalDN, str] = {}
    for dn, attrs in groups:
        name = _naming_value(dn, attrs, layout.group_name_attribute)
        if not name:
            out.unnamed_groups += 1
            continue
        if not group_filter_matches(layout.group_name_pattern, name):
            out.groups_not_matching += 1
            continue
        if name in members_of:
            out.duplicate_groups += 1
            continue
        members: set[str] = set()
        members_of[name] = members
        gid_of[name] = _int(_first(attrs.get(gid_attr))) if gid_attr else None
        normal = normalize_dn(dn)
        if normal is not None:
            group_of_dn[normal] = name
        if layout.membership != "group":
            continue
        for attr in layout.uid_member_attributes:
            for value in attrs.get(attr.lower(), []):
                person = name_of_uid.get(value.strip().casefold())
                if person is None:
                    out.unresolved_members += 1
                else:
                    members.add(person)
        for attr in layout.dn_member_attributes:
            for value in attrs.get(attr.lower(), []):
                # uniqueMember may carry an optional "#'0101'B" unique identifier
                if attr.lower() == "uniquemember" and "#'" in value:
                    value = value.rsplit("#'", 1)[0]
                normal_member = cached_normal(value)
                person = name_of_dn.get(normal_member) if normal_member is not None else None
                if person is None:
                    out.unresolved_members += 1
                else:
                    members.add(person)

    for person, dns in people_member_of:
        for value in dns:
            normal_group = cached_normal(value)
            group = group_of_dn.get(normal_group) if normal_group is not None else None
            if group is not None:
                members_of[group].add(person)
            # a memberOf DN outside the selected groups is simply not a team

    out.groups = {
        name: DirectoryGroup(name, frozenset(members), gid_of[name])
        for name, members in members_of.items()
    }
    return out


def decode_entry(dn: str, raw: Mapping[str, Sequence[bytes]]) -> tuple[Entry, int]:
    """A python-ldap result entry with ``str`` values and lower-case attribute names; also the
    number of values that were not UTF-8 (left out)."""
    attrs: dict[str, list[str]] = {}
    undecodable = 0
    for name, values in raw.items():
        decoded = attrs.setdefault(name.lower(), [])
        for value in values:
            try:
                decoded.append(value.decode("utf-8"))
            except UnicodeDecodeError:
                undecodable += 1
    return (dn, attrs), undecodable
