"""Two members editing one notebook on a team server see each other under their own names."""

from __future__ import annotations

from .browser import chromium, dismiss_dialogs, log_in, open_server, screenshot
from .harness import Hub, Person, wait_for

NOTEBOOK = {
    "cells": [{"cell_type": "markdown", "metadata": {}, "source": "# Shared notes"}],
    "metadata": {
        "kernelspec": {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def test_members_see_each_other_in_a_shared_notebook(demo_hub: Hub) -> None:
    account = "collab-physics"
    alice = Person(demo_hub, "alice").logged_in()
    assert alice.hub_api("POST", f"users/{account}/server").status_code in (201, 202)
    wait_for(lambda: demo_hub.server_ready(account), 60, what="the physics server")
    alice.open(f"/user/{account}/lab")
    created = alice.server_api(
        account,
        "PUT",
        "api/contents/shared.ipynb",
        json={"type": "notebook", "format": "json", "content": NOTEBOOK},
    )
    assert created.status_code in (200, 201), created.text

    url = f"{demo_hub.url}/user/{account}/lab/tree/shared.ipynb"
    with chromium() as browser:
        pages = {name: log_in(browser, demo_hub.url, name) for name in ("alice", "bob")}
        for page in pages.values():
            open_server(page, url)
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            dismiss_dialogs(page)
            page.click("[title='Collaboration']")
        for name, page in pages.items():
            other = "bob" if name == "alice" else "alice"
            page.bring_to_front()
            # the person's own identity on the team server is theirs, not the team account's
            page.wait_for_selector(f".jp-UserInfoPanel [title='{name}']", timeout=30_000)
            collaborators = page.locator(".jp-CollaboratorsList")
            collaborators.get_by_text(other, exact=False).first.wait_for(timeout=30_000)
            text = collaborators.inner_text()
            assert other in text, text
            assert account not in text, "a member appears as the team account"
            screenshot(page, f"collaboration-{name}")
    demo_hub.stop_server(account)
