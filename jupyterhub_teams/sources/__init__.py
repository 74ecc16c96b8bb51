"""Read-only adapters: one directory in, one :class:`~jupyterhub_teams.model.DirectorySnapshot`
out."""

from .base import Source, SourceError
from .yaml_file import YAMLDirectory, parse_directory

__all__ = ["Source", "SourceError", "YAMLDirectory", "parse_directory"]
