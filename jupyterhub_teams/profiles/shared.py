"""Read-only dicts and lists: the parts of a compiled profile list every viewer's answer shares.

Filtering a large profile list for one person used to copy every choice it kept (about 2,600
dicts on a list of 100 profiles of 10 options of 5 choices), although a choice looks the same to
everyone who may see it. Those entries are now built once, frozen, and handed to every viewer.
A shared entry must never change — a write would change what everybody is offered — so writing
to one raises :class:`SharedProfileEntryError`, naming the fix, instead of silently leaking into
other people's forms.

They are still a ``dict`` and a ``list`` for everything that reads them (templates, ``json``,
``isinstance``), and copying one gives a plain, writable ``dict`` or ``list``: KubeSpawner
deep-copies the list it gets before completing it, and :func:`thaw` does the same for values
applied to a spawner.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, NoReturn


class SharedProfileEntryError(TypeError):
    """A write to an entry shared by every viewer's filtered profile list."""


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise SharedProfileEntryError(
        "this part of a filtered profile list is shared by everyone it is shown to and cannot "
        "be changed; change a copy instead (copy.deepcopy gives plain dicts and lists)"
    )


class ReadOnlyDict(dict[str, Any]):
    """A ``dict`` that refuses writes; ``copy.copy`` and ``copy.deepcopy`` give plain dicts."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return {key: copy.deepcopy(value, memo) for key, value in self.items()}

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))


class ReadOnlyList(list[Any]):
    """A ``list`` that refuses writes; ``copy.copy`` and ``copy.deepcopy`` give plain lists."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = clear = extend = insert = pop = remove = reverse = sort = _refuse

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return [copy.deepcopy(value, memo) for value in self]

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))


def freeze(value: Any) -> Any:
    """``value`` with every dict and list in it (at any depth) made read-only; the rest (strings,
    numbers, callables) as it is. Tuples stay tuples, their items frozen."""
    if isinstance(value, Mapping):
        return ReadOnlyDict({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return ReadOnlyList(freeze(item) for item in value)
    if isinstance(value, tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """A writable deep copy of ``value`` (read-only parts become plain dicts and lists)."""
    return copy.deepcopy(value)
