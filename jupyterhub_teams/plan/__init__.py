"""Pure planning: no I/O, no hub, no clock."""

from ..model.policy import DEFAULT_ACCOUNTS_GROUP, Policy
from .actions import (
    Action,
    ActionBase,
    AddGroupMembers,
    CreateGroup,
    CreateUsers,
    GrantGroupShare,
    RemoveGroupMembers,
    RevokeGroupShare,
    SetGroupProperties,
    StopServer,
    unknown_action,
)
from .desired import Desired, Team, desire, desired_people
from .planner import Plan, desired_record, desired_teams, make_plan, wanted_users

__all__ = [
    "DEFAULT_ACCOUNTS_GROUP",
    "Action",
    "ActionBase",
    "AddGroupMembers",
    "CreateGroup",
    "CreateUsers",
    "Desired",
    "GrantGroupShare",
    "Plan",
    "Policy",
    "RemoveGroupMembers",
    "RevokeGroupShare",
    "SetGroupProperties",
    "StopServer",
    "Team",
    "desire",
    "desired_people",
    "desired_record",
    "desired_teams",
    "make_plan",
    "unknown_action",
    "wanted_users",
]
