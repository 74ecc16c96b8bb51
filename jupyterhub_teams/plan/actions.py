"""The actions a plan is made of. Each is idempotent: applying it twice changes nothing more."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn


@dataclass(frozen=True)
class ActionBase:
    """What every action has. ``kind`` names the action in JSON output and logs."""

    kind: str = field(init=False, default="action")

    def describe(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.kind}
        for name, value in self.__dict__.items():
            if name == "kind":
                continue
            if isinstance(value, (tuple, frozenset)):
                value = sorted(value)
            data[name] = value
        return data


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:10])
    return shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")


@dataclass(frozen=True)
class CreateUsers(ActionBase):
    """Create hub users (people from the directory and team accounts) in one request."""

    names: tuple[str, ...]
    kind: str = field(init=False, default="create-users")

    def describe(self) -> str:
        return f"create {len(self.names)} user(s): {_names(self.names)}"


@dataclass(frozen=True)
class CreateGroup(ActionBase):
    group: str
    members: tuple[str, ...] = ()
    kind: str = field(init=False, default="create-group")

    def describe(self) -> str:
        return f"create group {self.group} with {len(self.members)} member(s)"


@dataclass(frozen=True)
class SetGroupProperties(ActionBase):
    """Replace a group's properties (the hub's API replaces the whole dict)."""

    group: str
    properties: Mapping[str, Any]
    reason: str = ""
    kind: str = field(init=False, default="set-group-properties")

    def describe(self) -> str:
        return f"set properties of group {self.group}" + (
            f" ({self.reason})" if self.reason else ""
        )

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["properties"] = dict(self.properties)
        return data


@dataclass(frozen=True)
class AddGroupMembers(ActionBase):
    group: str
    users: tuple[str, ...]
    kind: str = field(init=False, default="add-members")

    def describe(self) -> str:
        return f"add {_names(self.users)} to group {self.group}"


@dataclass(frozen=True)
class RemoveGroupMembers(ActionBase):
    group: str
    users: tuple[str, ...]
    kind: str = field(init=False, default="remove-members")

    def describe(self) -> str:
        return f"remove {_names(self.users)} from group {self.group}"


@dataclass(frozen=True)
class GrantGroupShare(ActionBase):
    """Share ``owner``'s default server with every member of ``group``."""

    owner: str
    group: str
    scopes: tuple[str, ...]
    kind: str = field(init=False, default="grant-share")

    def describe(self) -> str:
        return f"share the server of {self.owner} with group {self.group}"


@dataclass(frozen=True)
class RevokeGroupShare(ActionBase):
    owner: str
    group: str
    kind: str = field(init=False, default="revoke-share")

    def describe(self) -> str:
        return f"revoke the share of {self.owner}'s server with group {self.group}"


@dataclass(frozen=True)
class StopServer(ActionBase):
    user: str
    reason: str = ""
    kind: str = field(init=False, default="stop-server")

    def describe(self) -> str:
        return f"stop the server of {self.user}" + (f" ({self.reason})" if self.reason else "")


# Every action a plan may hold: a closed set. The hub applier and the tests' in-memory hub
# dispatch on it with ``match``, and mypy checks that each dispatch handles every member.
Action = (
    CreateUsers
    | CreateGroup
    | SetGroupProperties
    | AddGroupMembers
    | RemoveGroupMembers
    | GrantGroupShare
    | RevokeGroupShare
    | StopServer
)


def unknown_action(action: NoReturn) -> NoReturn:
    """The last case of a dispatch on :data:`Action`: mypy accepts a call only where every
    action was handled before it; at run time it names what was not."""
    raise TypeError(f"not an action of this version: {action!r}")
