"""Real-hub test harness: a JupyterHub subprocess with its real proxy and single-user servers,
people acting through browser-like sessions, and an admin acting through the REST API.

Used by every end-to-end test. Everything listens on 127.0.0.1 on free ports and is stopped by
PID at teardown, also when the test failed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin, urlparse

import httpx
import psutil

from jupyterhub_teams.demo.hub import BUNDLED_DIRECTORY, free_port
from jupyterhub_teams.demo.proxy import find_proxy

REPO = Path(__file__).resolve().parents[2]


def wait_for(
    check: Callable[[], Any], timeout: float, interval: float = 0.25, what: str = "condition"
) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as exc:  # a check may fail while things start
            last_error = exc
        else:
            if result:
                return result
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout} s waiting for {what} (last error: {last_error})"
    )


class Hub:
    """A running JupyterHub configured by ``configure_demo`` plus test-only extras."""

    def __init__(
        self,
        state_dir: Path,
        *,
        directory: Path | None = None,
        sync_interval: float = 5.0,
        revocation_interval: int = 10,
        extra_config: str = "",
        pre_config: str = "",
    ) -> None:
        self.state_dir = state_dir
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if directory is None:
            directory = state_dir / "directory.yaml"
            shutil.copyfile(BUNDLED_DIRECTORY, directory)
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/hub/api"
        self.admin_token = secrets.token_hex(16)
        self.sync_interval = sync_interval
        self.revocation_interval = revocation_interval
        self.extra_config = extra_config
        # config that setup(c), called by configure_demo, must see (e.g. the directory source)
        self.pre_config = pre_config
        self.log_path = state_dir / "hub.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._descendants: dict[int, psutil.Process] = {}

    def write_config(self) -> Path:
        config = self.state_dir / "jupyterhub_config.py"
        config.write_text(
            textwrap.dedent(
                f"""\
                from jupyterhub_teams.demo.hub import configure_demo

                c.JupyterHub.services = [
                    {{"name": "test-admin", "api_token": {self.admin_token!r}}},
                ]
                c.JupyterHub.load_roles = [
                    {{"name": "admin", "services": ["test-admin"]}},
                ]
                c.JupyterHub.log_level = "DEBUG"
                """
            )
            + textwrap.dedent(self.pre_config)
            + textwrap.dedent(
                f"""
                configure_demo(
                    c,
                    state_dir={str(self.state_dir)!r},
                    directory={str(self.directory)!r},
                    port={self.port},
                    proxy_command={find_proxy(install=False)!r},
                    sync_interval={self.sync_interval!r},
                    revocation_interval={self.revocation_interval!r},
                )
                """
            )
            + self.extra_config
        )
        return config

    def start(self) -> Hub:
        config = self.write_config()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(config),
                cwd=self.state_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**env, **self.environment()},
                start_new_session=True,
            )
        wait_for(self._ready, timeout=60, what=f"the hub on {self.url} (log: {self.log_path})")
        return self

    def command(self, config: Path) -> list[str]:
        return [sys.executable, "-m", "jupyterhub", "-f", str(config)]

    def environment(self) -> dict[str, str]:
        """Variables the hub gets on top of the tests' own."""
        return {}

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"the hub exited with {self.process.returncode}: {self.log_tail()}"
            )
        self._remember_descendants()
        r = httpx.get(f"{self.api_url}/", timeout=5)
        return r.status_code == 200

    def _remember_descendants(self) -> None:
        if self.process is None:
            return
        try:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                self._descendants[child.pid] = child
        except psutil.NoSuchProcess:
            pass

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, graceful: bool = True) -> None:
        """Stop the hub and everything it started (proxy, single-user servers, service)."""
        if self.process is None:
            return
        self._remember_descendants()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for proc in self._descendants.values():
            try:
                if proc.is_running():
                    proc.terminate()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(list(self._descendants.values()), timeout=10)
        for proc in self._descendants.values():
            try:
                if proc.is_running():
                    proc.kill()
            except psutil.NoSuchProcess:
                pass
        self._descendants.clear()
        self.process = None

    # -- REST as the admin ------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self._remember_descendants()
        return httpx.request(
            method,
            f"{self.api_url}/{path.lstrip('/')}",
            headers={"Authorization": f"token {self.admin_token}"},
            timeout=60,
            **kwargs,
        )

    def user(self, name: str) -> dict[str, Any]:
        r = self.api("GET", f"users/{name}")
        r.raise_for_status()
        return dict(r.json())

    def group(self, name: str) -> dict[str, Any] | None:
        r = self.api("GET", f"groups/{name}")
        return None if r.status_code == 404 else dict(r.json())

    def server_ready(self, name: str) -> bool:
        server = (self.user(name).get("servers") or {}).get("")
        return bool(server and server.get("ready"))

    def server_stopped(self, name: str) -> bool:
        return not (self.user(name).get("servers") or {}).get("")

    @contextlib.contextmanager
    def synced(self, group: str) -> Iterator[Hub]:
        """The hub started, after its first sync made the team ``group``; stopped on exit."""
        self.start()
        try:
            self.wait_for_sync(lambda: self.group(group), what="the first sync")
            yield self
        finally:
            self.stop()

    def wait_for_sync(self, check: Callable[[], Any], what: str, intervals: float = 3) -> Any:
        return wait_for(check, timeout=self.sync_interval * intervals + 10, what=what)

    def stop_server(self, name: str) -> None:
        r = self.api("DELETE", f"users/{name}/server")
        assert r.status_code in (202, 204, 400), r.text
        wait_for(lambda: self.server_stopped(name), 60, what=f"{name}'s server to stop")


class _FormParser(HTMLParser):
    """Collects the inputs of the first form on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: list[tuple[str, str]] = []
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action, self._in_form = data.get("action", ""), True
        elif tag == "input" and self._in_form and data.get("name"):
            kind = data.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in data:
                return
            self.fields.append((data["name"], data.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


class Reachable(Protocol):
    """Anything with the public URL of a hub (a :class:`Hub`, or a hub started otherwise)."""

    url: str


@dataclass
class RunningHub:
    url: str


class Person:
    """Someone using the hub through a browser-like session (cookies, XSRF, OAuth consent)."""

    def __init__(self, hub: Reachable, name: str, password: str = "demo") -> None:
        self.hub, self.name, self.password = hub, name, password
        self.http = httpx.Client(base_url=hub.url, follow_redirects=False, timeout=60)
        # the address of every OAuth consent ("Authorize access") page this person was shown
        self.consent_pages: list[str] = []

    def close(self) -> None:
        self.http.close()

    def cookie(self, name: str, path: str) -> str | None:
        """The cookie ``name`` a browser would send to ``path`` (longest matching path wins)."""
        best: tuple[int, str] | None = None
        for c in self.http.cookies.jar:
            if (
                c.name == name
                and path.startswith(c.path)
                and (best is None or len(c.path) > best[0])
            ):
                best = (len(c.path), c.value or "")
        return best[1] if best else None

    def cookie_header(self, path: str) -> str:
        chosen: dict[str, tuple[int, str]] = {}
        for c in self.http.cookies.jar:
            if path.startswith(c.path) and (
                c.name not in chosen or len(c.path) > chosen[c.name][0]
            ):
                chosen[c.name] = (len(c.path), c.value or "")
        return "; ".join(f"{k}={v}" for k, (_, v) in chosen.items())

    def login(self) -> httpx.Response:
        self.http.get("/hub/login")
        xsrf = self.cookie("_xsrf", "/hub/login") or ""
        r = self.http.post(
            "/hub/login",
            data={"username": self.name, "password": self.password, "_xsrf": xsrf},
        )
        return r

    def logged_in(self) -> Person:
        r = self.login()
        assert r.status_code == 302, f"login of {self.name} failed: {r.status_code} {r.text[:300]}"
        return self

    def open(self, path: str, max_hops: int = 15) -> httpx.Response:
        """GET ``path`` like a browser: follow redirects, accept the OAuth consent form."""
        url = path
        for _ in range(max_hops):
            r = self.http.get(url)
            if r.status_code in (301, 302, 303, 307):
                url = urljoin(str(r.url), r.headers["location"])
                continue
            if r.status_code == 200 and "/hub/api/oauth2/authorize" in str(r.url):
                form = _FormParser()
                form.feed(r.text)
                if form.action is not None:
                    self.consent_pages.append(str(r.url))
                    target = urljoin(str(r.url), form.action or str(r.url))
                    data: dict[str, list[str]] = {}
                    for key, value in form.fields:
                        data.setdefault(key, []).append(value)
                    r = self.http.post(target, data=data)
                    if r.status_code in (301, 302, 303):
                        url = urljoin(str(r.url), r.headers["location"])
                        continue
            return r
        raise AssertionError(f"too many redirects opening {path}")

    def hub_api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The hub's REST API with this person's cookie, as the hub's own pages call it."""
        if self.cookie("_xsrf", "/hub/") is None:
            self.http.get("/hub/home")
        headers = {"X-XSRFToken": self.cookie("_xsrf", "/hub/api/") or ""}
        return self.http.request(method, f"/hub/api/{path.lstrip('/')}", headers=headers, **kwargs)

    def server_api(self, owner: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A single-user server's REST API with this person's cookies and XSRF token."""
        base = f"/user/{owner}/"
        headers = {"X-XSRFToken": self.cookie("_xsrf", base) or ""}
        return self.http.request(method, f"{base}{path.lstrip('/')}", headers=headers, **kwargs)

    def open_terminal(self, owner: str) -> Any:
        """A new terminal on ``owner``'s server, its websocket connected (websockets' sync
        client)."""
        from websockets.sync.client import connect

        terminal = self.server_api(owner, "POST", "api/terminals")
        assert terminal.status_code == 200, terminal.text
        path = f"/user/{owner}/terminals/websocket/{terminal.json()['name']}"
        return connect(
            self.websocket_url(path), additional_headers={"Cookie": self.cookie_header(path)}
        )

    def websocket_url(self, path: str) -> str:
        parsed = urlparse(self.hub.url)
        return f"ws://{parsed.netloc}{path}"


def start_as(person: Person, hub: Hub, owner: str, options: dict[str, Any] | None = None) -> float:
    """Start ``owner``'s default server as ``person`` through the REST API (with
    ``user_options`` when given); returns the seconds until the hub called it ready."""
    began = time.monotonic()
    body = {"user_options": options} if options else None
    r = person.hub_api("POST", f"users/{owner}/server", json=body)
    assert r.status_code in (201, 202), f"{r.status_code} {r.text}\n{hub.log_tail()}"
    wait_for(lambda: hub.server_ready(owner), 120, what=f"{owner}'s server")
    return time.monotonic() - began


def set_members(hub: Hub, group: str, members: list[str]) -> None:
    """Set a group's members in the hub's YAML directory, keeping its other attributes."""
    import yaml

    data = yaml.safe_load(hub.directory.read_text())
    data["groups"][group]["members"] = members
    hub.directory.write_text(yaml.safe_dump(data))


def assert_only_members_get_in(people: dict[str, Person], account: str, members: set[str]) -> None:
    """Every member opens the team server as themselves, with no consent page; everyone else
    gets 403."""
    for name, person in people.items():
        response = person.open(f"/user/{account}/lab")
        if name not in members:
            assert response.status_code == 403, f"{name} opened {account}: {response.status_code}"
            continue
        assert consent_or_lab(response), f"{name} could not open {account}: {response.status_code}"
        assert not [u for u in person.consent_pages if account in u], f"{name} saw a consent page"
        me = person.server_api(account, "GET", "api/me").json()
        assert me["identity"]["username"] == name


def seconds_until_refused(
    hub: Hub, person: Person, account: str, team: str, remaining: list[str]
) -> float:
    """Remove ``person`` from ``team`` in the directory (``remaining`` stay); returns the seconds
    until their open session on the team server is refused (at most 30)."""
    assert person.server_api(account, "GET", "api/status").status_code == 200
    removed = time.monotonic()
    set_members(hub, team, remaining)
    wait_for(
        lambda: person.server_api(account, "GET", "api/status").status_code in (302, 403),
        30,
        interval=0.5,
        what=f"{person.name}'s open session on {account} to be refused",
    )
    return time.monotonic() - removed


def sessions(hub: Reachable) -> dict[str, Person]:
    """A logged-in session for every demo person."""
    return {n: Person(hub, n).logged_in() for n in ("alice", "bob", "carol", "dave", "erin")}


def closes_of(socket: Any) -> list[tuple[float, int | None]]:
    """Read a (websockets' sync client) ``socket`` in the background; the list returned gets
    (monotonic time, close code) once it closes."""
    from websockets.exceptions import ConnectionClosed

    closed: list[tuple[float, int | None]] = []

    def drain() -> None:
        try:
            while True:
                socket.recv()
        except ConnectionClosed as exc:
            closed.append((time.monotonic(), exc.rcvd.code if exc.rcvd else None))

    threading.Thread(target=drain, daemon=True).start()
    return closed


def consent_or_lab(response: httpx.Response) -> bool:
    """True when a response is JupyterLab's page (the person got in)."""
    return response.status_code == 200 and bool(re.search(r"jupyter-config-data", response.text))


def contents(person: Person, owner: str, path: str) -> httpx.Response:
    return person.server_api(owner, "GET", f"api/contents/{path}")


def write(person: Person, owner: str, path: str, text: str) -> None:
    body = {"type": "file", "format": "text", "content": text}
    r = person.server_api(owner, "PUT", f"api/contents/{path}", json=body)
    assert r.status_code in (200, 201), f"{r.status_code} {r.text}"


def team_retired(hub: Hub, team: str) -> bool:
    record = (hub.group(team) or {}).get("properties", {}).get("jupyterhub_teams", {})
    return bool(record.get("retired"))


def assert_team_data_survives_stop_and_retirement(
    hub: Hub, member: Person, team: str, teams_root: Path, after_stop: Callable[[], None]
) -> None:
    """A file ``member`` writes into the team directory from the team server is there again
    after the server stops (``after_stop`` checks what the stop removed) and starts, and after
    the team is retired (its group leaves the directory: the server stops) and restored."""
    import yaml

    account = f"collab-{team}"
    path = f"teams/{team}/kept.txt"

    def reopen_and_read() -> None:
        start_as(member, hub, account)
        assert consent_or_lab(member.open(f"/user/{account}/lab"))
        assert contents(member, account, path).json()["content"] == "still here"

    if not hub.server_ready(account):
        start_as(member, hub, account)
    assert consent_or_lab(member.open(f"/user/{account}/lab"))
    write(member, account, path, "still here")
    hub.stop_server(account)
    after_stop()
    reopen_and_read()

    saved = yaml.safe_load(hub.directory.read_text())
    without = yaml.safe_load(hub.directory.read_text())
    del without["groups"][team]
    hub.directory.write_text(yaml.safe_dump(without))
    hub.wait_for_sync(lambda: team_retired(hub, team), what=f"{team} to be retired")
    wait_for(lambda: hub.server_stopped(account), 60, what="the retired team server to stop")
    assert (teams_root / team / "kept.txt").read_text() == "still here"
    hub.directory.write_text(yaml.safe_dump(saved))
    hub.wait_for_sync(lambda: not team_retired(hub, team), what=f"{team} to be restored")
    reopen_and_read()
    hub.stop_server(account)


def xsrf_headers(person: Person) -> dict[str, str]:
    if person.cookie("_xsrf", "/hub/") is None:
        person.http.get("/hub/home")
    return {"X-XSRFToken": person.cookie("_xsrf", "/hub/teams/api/teams") or ""}


def teams_api(person: Person, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A JSON endpoint of the Teams page, as the page's script calls it."""
    url = f"/hub/teams/api/teams{path}"
    return person.http.request(method, url, headers=xsrf_headers(person), **kwargs)
