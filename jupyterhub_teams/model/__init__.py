"""The data every layer speaks. Plain frozen dataclasses, no I/O.

Sources produce a :class:`DirectorySnapshot`; the hub client produces a :class:`HubState`; the
planner turns the two into actions. A team's own state between syncs is a :class:`TeamRecord`.
"""

from .policy import DEFAULT_ACCOUNTS_GROUP, Policy
from .snapshots import (
    DirectoryGroup,
    DirectorySnapshot,
    HubGroup,
    HubShare,
    HubState,
    HubUser,
    Person,
)
from .team_record import (
    FORMAT_VERSION,
    TEAM_PROPERTY,
    Origin,
    RecordError,
    TeamRecord,
    parse_record,
    record_in,
    with_record,
)

__all__ = [
    "DEFAULT_ACCOUNTS_GROUP",
    "FORMAT_VERSION",
    "TEAM_PROPERTY",
    "DirectoryGroup",
    "DirectorySnapshot",
    "HubGroup",
    "HubShare",
    "HubState",
    "HubUser",
    "Origin",
    "Person",
    "Policy",
    "RecordError",
    "TeamRecord",
    "parse_record",
    "record_in",
    "with_record",
]
