"""Pure planning: no I/O, no hub, no clock."""

from .actions import (
    Action,
    AddGroupMembers,
    CreateGroup,
    CreateUsers,
    GrantGroupShare,
    RemoveGroupMembers,
    RevokeGroupShare,
    SetGroupProperties,
    StopServer,
)
from .planner import (
    Plan,
    Team,
    desired_people,
    desired_teams,
    make_plan,
    team_marker,
    wanted_users,
)
from .policy import DEFAULT_ACCOUNTS_GROUP, TEAM_PROPERTY, Policy

__all__ = [
    "DEFAULT_ACCOUNTS_GROUP",
    "TEAM_PROPERTY",
    "Action",
    "AddGroupMembers",
    "CreateGroup",
    "CreateUsers",
    "GrantGroupShare",
    "Plan",
    "Policy",
    "RemoveGroupMembers",
    "RevokeGroupShare",
    "SetGroupProperties",
    "StopServer",
    "Team",
    "desired_people",
    "desired_teams",
    "make_plan",
    "team_marker",
    "wanted_users",
]
