"""The spawn form for spawners without their own (everything but KubeSpawner).

Pure: filtered profiles in, an HTML snippet out. JupyterHub's ``spawn.html`` puts it inside
its ``<form>`` next to the Start button. The field names are KubeSpawner's, so the same
:func:`~.user_options.parse_form` reads both forms. Every configured name and every value a
person typed earlier is escaped; braces are escaped too, so the snippet stays inert even if a
template engine were to render it again.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from .user_options import FORM_OPTION_PREFIX, PROFILE_KEY, UNLISTED_SENTINEL, UNLISTED_SUFFIX

_STYLE = """<style>
.jht-profile { border: 1px solid #ddd; border-radius: 4px; padding: 0.5em 1em; margin: 0.5em 0; }
.jht-profile > label { font-weight: bold; display: block; }
.jht-profile .jht-description { margin: 0.25em 0 0.5em 1.5em; color: #555; }
.jht-option { margin: 0.25em 0 0.25em 1.5em; }
</style>"""

# Picking an option inside a profile selects that profile; the free-text field shows only
# when "enter my own value" is picked. The form works without it: the server reads the select.
_SCRIPT = """<script>
(function () {
  var form = document.getElementById("jht-profiles");
  if (!form) { return; }
  function sync(select) {
    var box = document.getElementById(select.id + "--unlisted-box");
    if (box) { box.hidden = select.value !== "unlisted-choice"; }
  }
  form.querySelectorAll("select").forEach(function (select) {
    sync(select);
    select.addEventListener("change", function () {
      var radio = select.closest(".jht-profile").querySelector("input[type=radio]");
      if (radio) { radio.checked = true; }
      sync(select);
    });
  });
})();
</script>"""


def escape(value: Any) -> str:
    """HTML-escape ``value`` (quotes included) and its braces."""
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


def render_form(
    profiles: Sequence[Mapping[str, Any]], previous: Mapping[str, Any] | None = None
) -> str:
    """The profile form for ``profiles`` (already filtered for the viewer).

    ``previous`` (the server's last user options) preselects what is still offered; anything
    else starts at the defaults.
    """
    previous = previous or {}
    wanted = previous.get(PROFILE_KEY)
    if not any(p["slug"] == wanted for p in profiles):
        wanted = next((p["slug"] for p in profiles if p.get("default")), None)
    parts = [_STYLE, '<div id="jht-profiles">']
    for profile in profiles:
        slug = str(profile["slug"])
        keep = previous if previous.get(PROFILE_KEY) == slug else {}
        parts.append(_render_profile(profile, slug, checked=slug == wanted, previous=keep))
    parts.append("</div>")
    parts.append(_SCRIPT)
    return "\n".join(parts)


def _render_profile(
    profile: Mapping[str, Any], slug: str, *, checked: bool, previous: Mapping[str, Any]
) -> str:
    radio_id = f"profile-item-{slug}"
    lines = [
        '<fieldset class="jht-profile">',
        f'<label for="{escape(radio_id)}"><input type="radio" name="{PROFILE_KEY}" '
        f'id="{escape(radio_id)}" value="{escape(slug)}"{" checked" if checked else ""}> '
        f"{escape(profile.get('display_name') or slug)}</label>",
    ]
    if profile.get("description"):
        lines.append(f'<p class="jht-description">{escape(profile["description"])}</p>')
    options: Mapping[str, Mapping[str, Any]] = profile.get("profile_options") or {}
    for name, option in options.items():
        lines.append(_render_option(slug, name, option, previous))
    lines.append("</fieldset>")
    return "\n".join(lines)


def _render_option(
    slug: str, name: str, option: Mapping[str, Any], previous: Mapping[str, Any]
) -> str:
    field = f"{FORM_OPTION_PREFIX}{slug}--{name}"
    choices: Mapping[str, Mapping[str, Any]] = option.get("choices") or {}
    unlisted: Mapping[str, Any] | None = option.get("unlisted_choice")
    typed = previous.get(name + UNLISTED_SUFFIX) if unlisted is not None else None
    picked = previous.get(name)
    if typed:
        picked = UNLISTED_SENTINEL
    elif picked not in choices:
        picked = next((k for k, c in choices.items() if c.get("default")), None)
    if picked is None and unlisted is not None:
        picked = UNLISTED_SENTINEL
    label = option.get("display_name") or name
    lines = [
        '<div class="jht-option form-group">',
        f'<label for="{escape(field)}">{escape(label)}</label>',
        f'<select class="form-select" name="{escape(field)}" id="{escape(field)}">',
    ]
    for key, choice in choices.items():
        selected = " selected" if key == picked else ""
        text = choice.get("display_name") or key
        lines.append(f'<option value="{escape(key)}"{selected}>{escape(text)}</option>')
    if unlisted is not None:
        selected = " selected" if picked == UNLISTED_SENTINEL else ""
        text = unlisted.get("display_name_in_choices") or "Other..."
        lines.append(f'<option value="{UNLISTED_SENTINEL}"{selected}>{escape(text)}</option>')
    lines.append("</select>")
    if unlisted is not None:
        box_id = f"{field}--unlisted-box"
        text_field = field + UNLISTED_SUFFIX
        attributes = [
            'type="text"',
            'class="form-control"',
            f'name="{escape(text_field)}"',
            f'id="{escape(text_field)}"',
            f'value="{escape(typed or "")}"',
        ]
        if unlisted.get("validation_regex"):
            attributes.append(f'pattern="{escape(unlisted["validation_regex"])}"')
        if unlisted.get("validation_message"):
            attributes.append(f'title="{escape(unlisted["validation_message"])}"')
        lines.append(
            f'<div id="{escape(box_id)}">'
            f'<label for="{escape(text_field)}">'
            f"{escape(unlisted.get('display_name') or 'Your value')}</label>"
            f"<input {' '.join(attributes)}></div>"
        )
    lines.append("</div>")
    return "\n".join(lines)


def render_unavailable(message: str) -> str:
    """What the spawn page shows someone who may use no profile: the reason, no Start button."""
    return (
        f'<div class="alert alert-warning" id="jht-no-profile">{escape(message)}</div>'
        "<style>#spawn_form button[type=submit] { display: none; }</style>"
    )
