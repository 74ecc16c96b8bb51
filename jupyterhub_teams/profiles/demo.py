"""The demo hub's profiles (a public contract: the slugs and who sees what are documented).

They run on the demo's local process spawner, so their overrides only set things that are
harmless on one machine and visible from outside: ``mem_limit``/``cpu_limit`` (which the
spawner exports as ``MEM_LIMIT``/``CPU_LIMIT``) and a few environment variables. The same
list works with KubeSpawner, where ``mem_limit`` really limits memory.
"""

from __future__ import annotations

from typing import Any

# environment variable telling which profile a server was started with
PROFILE_VARIABLE = "JUPYTERHUB_TEAMS_PROFILE"
# environment variable carrying the image choice (the name KubeSpawner and DockerSpawner use)
IMAGE_VARIABLE = "JUPYTER_IMAGE"
DEFAULT_IMAGE = "quay.io/jupyter/scipy-notebook:latest"
SMALL_MEMORY = "1G"
LARGE_MEMORY = "4G"
TEAM_MEMORY = "2G"
GPU_CPUS = 4.0


def demo_profile_list() -> list[dict[str, Any]]:
    """A fresh copy of the demo profiles (callers may change it)."""
    return [
        {
            "slug": "standard",
            "display_name": "Standard",
            "description": "A server of your own. Some groups may pick more memory or "
            "name an image of their own.",
            "default": True,
            "spawner_override": {"environment": {PROFILE_VARIABLE: "standard"}},
            "profile_options": {
                "memory": {
                    "display_name": "Memory",
                    "choices": {
                        "small": {
                            "display_name": f"Small ({SMALL_MEMORY}B)",
                            "default": True,
                            "spawner_override": {"mem_limit": SMALL_MEMORY},
                        },
                        "large": {
                            "display_name": f"Large ({LARGE_MEMORY}B)",
                            "allowed_groups": ["physics"],
                            "spawner_override": {"mem_limit": LARGE_MEMORY},
                        },
                    },
                },
                "image": {
                    "display_name": "Image",
                    "choices": {
                        "default": {
                            "display_name": DEFAULT_IMAGE,
                            "default": True,
                            "spawner_override": {"environment": {IMAGE_VARIABLE: DEFAULT_IMAGE}},
                        },
                    },
                    "unlisted_choice": {
                        "enabled": True,
                        "allowed_groups": ["chemistry"],
                        "display_name": "Image name",
                        "display_name_in_choices": "Another image…",
                        "validation_regex": r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$",
                        "validation_message": "An image name such as "
                        "quay.io/jupyter/r-notebook:latest",
                        "spawner_override": {"environment": {IMAGE_VARIABLE: "{value}"}},
                    },
                },
            },
        },
        {
            "slug": "gpu",
            "display_name": "GPU",
            "description": "A server with more processors, for GPU work.",
            "allowed_groups": ["gpu-users"],
            "spawner_override": {
                "cpu_limit": GPU_CPUS,
                "mem_limit": LARGE_MEMORY,
                "environment": {PROFILE_VARIABLE: "gpu"},
            },
        },
        {
            "slug": "team",
            "display_name": "Team server",
            "description": "The shared server of a team.",
            "team_only": True,
            "spawner_override": {
                "mem_limit": TEAM_MEMORY,
                "environment": {PROFILE_VARIABLE: "team"},
            },
        },
    ]
