"""Group-restricted spawn profiles (``allowed_groups``, ``team_only``) for every spawner.

:mod:`.filter` and :mod:`.form` are pure; :mod:`.spawner` and :mod:`.kubespawner` wire them
into a hub (``setup(c)`` calls :func:`configure_profiles`). See ``docs/profiles.md``.
"""

from .filter import (
    OptionsRefused,
    ProfileConfigError,
    Selection,
    Viewer,
    check_user_options,
    parse_form,
    validate_profile_list,
    visible_profiles,
)
from .spawner import configure_profiles

__all__ = [
    "OptionsRefused",
    "ProfileConfigError",
    "Selection",
    "Viewer",
    "check_user_options",
    "configure_profiles",
    "parse_form",
    "validate_profile_list",
    "visible_profiles",
]
