"""Group-restricted spawn profiles (``allowed_groups``, ``team_only``) for every spawner.

:mod:`.filter`, :mod:`.user_options` and :mod:`.form` are pure; :mod:`.spawner` and
:mod:`.kubespawner` wire them into a hub, and :mod:`.wiring` picks one (``setup(c)`` calls
:func:`configure_profiles`). See
``docs/profiles.md``.
"""

from .compiled import visible_profiles
from .filter import ProfileConfigError, Viewer, validate_profile_list
from .shared import SharedProfileEntryError
from .user_options import OptionsRefused, Selection, check_user_options, parse_form
from .wiring import configure_profiles

__all__ = [
    "OptionsRefused",
    "ProfileConfigError",
    "Selection",
    "SharedProfileEntryError",
    "Viewer",
    "check_user_options",
    "configure_profiles",
    "parse_form",
    "validate_profile_list",
    "visible_profiles",
]
