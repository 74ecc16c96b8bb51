"""The actions a plan is made of. Each is idempotent: applying it twice changes nothing more."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Action:
    """Base class. ``kind`` names the action in JSON output and logs."""

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
class CreateUsers(Action):
    """Create hub users (people from the directory and team accounts) in one request."""

    names: tuple[str, ...]
    kind: str = field(init=False, default="create-users")

    def describe(self) -> str:
        return f"create {len(self.names)} user(s): {_names(self.names)}"


@dataclass(frozen=True)
class CreateGroup(Action):
    group: str
    members: tuple[str, ...] = ()
    kind: str = field(init=False, default="create-group")

    def describe(self) -> str:
        return f"create group {self.group} with {len(self.members)} member(s)"


@dataclass(frozen=True)
class SetGroupProperties(Action):
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
class AddGroupMembers(Action):
    group: str
    users: tuple[str, ...]
    kind: str = field(init=False, default="add-members")

    def describe(self) -> str:
        return f"add {_names(self.users)} to group {self.group}"


@dataclass(frozen=True)
class RemoveGroupMembers(Action):
    group: str
    users: tuple[str, ...]
    kind: str = field(init=False, default="remove-members")

    def describe(self) -> str:
        return f"remove {_names(self.users)} from group {self.group}"


@dataclass(frozen=True)
class GrantGroupShare(Action):
    """Share ``owner``'s default server with every member of ``group``."""

    owner: str
    group: str
    scopes: tuple[str, ...]
    kind: str = field(init=False, default="grant-share")

    def describe(self) -> str:
        return f"share the server of {self.owner} with group {self.group}"


@dataclass(frozen=True)
class RevokeGroupShare(Action):
    owner: str
    group: str
    kind: str = field(init=False, default="revoke-share")

    def describe(self) -> str:
        return f"revoke the share of {self.owner}'s server with group {self.group}"


@dataclass(frozen=True)
class StopServer(Action):
    user: str
    reason: str = ""
    kind: str = field(init=False, default="stop-server")

    def describe(self) -> str:
        return f"stop the server of {self.user}" + (f" ({self.reason})" if self.reason else "")
