"""Our hooks, composed with the admin's own, each slot wrapped exactly once.

JupyterHub has one slot per hook (``c.Spawner.pre_spawn_hook``, ``c.Authenticator.post_auth_hook``,
…). ``setup(c)`` puts a :class:`ComposedHook` in each slot it uses: ours first, then the admin's,
each called once per event. Ours decide whether the admin's runs at all only where that is the
point (a refused login raises; a team account's refresh is answered without asking anyone).

An admin's hook assigned *after* ``setup(c)``, or to a subclass's section (``c.KubeSpawner.
pre_spawn_hook``, which traitlets prefers over ``c.Spawner``'s), would otherwise replace ours
without a word, and team servers would start as plain servers. So ``setup(c)`` watches the
sections it serves (:func:`watch`): an assignment to a slot of ours becomes that slot's admin
hook, composed with ours like one set before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from traitlets.config import Config

Hook = Callable[..., Any]


async def call(hook: Hook, *args: Any) -> Any:
    """``hook(*args)``, awaited when it returns an awaitable (hooks may be sync or async)."""
    result = hook(*args)
    if inspect.isawaitable(result):
        return await result
    return result


@dataclass(frozen=True)
class Slot:
    """A hook slot: its name, the classes whose sections have it (by name suffix, since
    sections are keyed by class name: ``KubeSpawner`` and ``Spawner`` both end in ``Spawner``),
    how to build ours around the admin's, and what the slot gives when there is no admin hook."""

    name: str
    class_suffix: str
    build: Callable[[Hook], Hook]
    default: Callable[..., Any]
    # For a slot holding a value rather than a hook (``authenticator_class``): ours made from
    # the admin's value; applying it to ours again returns it unchanged.
    compose_value: Callable[[Any], Any] | None = None

    def serves(self, section: str) -> bool:
        return section.endswith(self.class_suffix)


def value_slot(name: str, section: str, compose: Callable[[Any], Any]) -> Slot:
    """A slot whose value we wrap (a class, say) instead of a hook we chain."""
    return Slot(name, section, lambda then: then, lambda *_: None, compose)


class ComposedHook:
    """Ours, built around the admin's hook; ``admin`` may be replaced after the fact."""

    def __init__(self, slot: Slot, admin: Any = None) -> None:
        self.slot = slot
        self.admin = admin
        self._ours = slot.build(self._then)

    # Both return what they call returns, awaitable or not, without awaiting it: the hub
    # awaits hooks with ``maybe_future``, and a coroutine where the hooks gave a plain value
    # would add a yield to the event loop that the hub does not expect (see
    # ``make_server_token_scopes``).
    def _then(self, *args: Any) -> Any:
        admin = self.admin
        if admin is None:
            return self.slot.default(*args)
        if not callable(admin):  # a value (server_token_scopes may be a list of scopes)
            return admin
        return admin(*args)

    def __call__(self, *args: Any) -> Any:
        return self._ours(*args)

    def __repr__(self) -> str:
        return f"<jupyterhub-teams {self.slot.name}, then {self.admin!r}>"


def _compose(section: Config, name: str, value: Any, slots: dict[str, Slot]) -> None:
    compose_value = slots[name].compose_value
    if compose_value is not None:
        dict.__setitem__(section, name, compose_value(value))
        return
    current = dict.get(section, name)
    if isinstance(value, ComposedHook):
        dict.__setitem__(section, name, value)
    elif isinstance(current, ComposedHook):
        current.admin = value
    else:
        dict.__setitem__(section, name, ComposedHook(slots[name], value))


# Where a watched Config keeps what it watches: an instance attribute, which its items (the
# configuration), copies and merges never carry.
_SLOTS = "_jupyterhub_teams_slots"


def _slots_of(config: Config) -> Any:
    return config.__dict__.get(_SLOTS, {})


class _WatchedSection(Config):
    """A class's section whose hook slots compose instead of replacing ours."""

    def __setitem__(self, key: str, value: Any) -> None:
        slots = _slots_of(self)
        if key in slots:
            _compose(self, key, value, slots)
        else:
            super().__setitem__(key, value)


class _WatchedRoot(Config):
    """The top of ``c``: sections made later for a served class are watched too."""

    def __getitem__(self, key: str) -> Any:
        section = super().__getitem__(key)
        _watch_section(self, key, section)
        return section

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if isinstance(value, Config):
            _watch_section(self, key, value)


def _watch_section(root: Config, key: str, section: Any) -> None:
    if not isinstance(section, Config):
        return
    slots = {s.name: s for s in _slots_of(root) if s.serves(key)}
    if not slots:
        return
    for name, slot in slots.items():
        value = dict.get(section, name)
        if value is not None and slot.compose_value is not None:
            dict.__setitem__(section, name, slot.compose_value(value))
        elif value is not None and not isinstance(value, ComposedHook):
            dict.__setitem__(section, name, ComposedHook(slot, value))
    object.__setattr__(section, _SLOTS, {**_slots_of(section), **slots})
    if type(section) is Config:
        section.__class__ = _WatchedSection


def install(c: Config, slots: list[Slot]) -> None:
    """Put our hooks (and wrapped values) in ``c``: in each slot's base section, and in every
    section of a subclass that already sets the slot; then watch ``c`` so later assignments
    compose too."""
    object.__setattr__(c, _SLOTS, (*_slots_of(c), *slots))
    for slot in slots:
        base = c[slot.class_suffix]
        _compose(base, slot.name, dict.get(base, slot.name), {slot.name: slot})
    for key in list(c):
        _watch_section(c, key, dict.__getitem__(c, key))
    if type(c) is Config:
        # The object the config file holds as `c`: its class is swapped, not the object, so
        # that every reference to it sees the watch. _WatchedRoot adds no state.
        c.__class__ = _WatchedRoot
