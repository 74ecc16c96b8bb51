"""No secret in the hub's log or in any page, end to end at DEBUG.

One hub reads its teams from a real slapd (the bind password only in the hub's environment)
and logs people in through a real OpenID Connect provider. The hub logs at DEBUG, and so do
jupyterhub-teams' own loggers in the hub, the sync service and the single-user servers; their
output, and the proxy's, is in the hub's log. During the run two people of one team log in
through the provider, start a server of their own and the team's and open them, make and use
an API token, make a share code that the other redeems, and create an ad-hoc team whose
invitation code the other uses; the admin token reads the hub and the sync service's metrics.

Then every line of the hub's log and every HTML page anyone was shown is searched for every
secret of the run: the LDAP bind password, the OIDC client secret, the hub's service tokens
(the sync service's, the test's admin one), the proxy's token, the crypt key, a person's API
token, the servers' own tokens, the provider's tokens for a person, the OAuth tokens and
authorization codes people's browsers carried, the share code and the invitation code. None
may appear. Each secret is long and random (a hit cannot be a coincidence), and each was used
during the run (so a leak had its chance).

A page is not searched for a secret its own request carried, in its address, body or cookies:
the accept-share and join pages show back the code in their address, and JupyterLab's page
holds the visitor's own OAuth token from their cookie (the list is printed).
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qs, quote, unquote_plus, urlsplit

import httpx
import psutil
import pytest

from .harness import Hub, Person, consent_or_lab, teams_api, wait_for
from .slapd import GeneratedDirectory, Slapd, generate
from .test_claims import CLIENT_SECRET, OIDCProvider, generic_oauth_config, oauth_login

PASSWORD_ENV = "TEAMS_SECRETS_TEST_BIND_PASSWORD"
BIND_PASSWORD = secrets.token_hex(16)
CRYPT_KEY = secrets.token_hex(32)
SERVICE = "jupyterhub-teams"
STARTED = (201, 202)

# The sync service as the hub starts it, its root logger at DEBUG instead of INFO (the service
# has no log level option).
SERVICE_AT_DEBUG = """\
import logging
from jupyterhub_teams.service import app
configure = logging.basicConfig
logging.basicConfig = lambda **options: configure(**{**options, "level": logging.DEBUG})
app.main()
"""

DEBUG_EVERYWHERE = f"""
# jupyterhub-teams' own loggers in the hub's process (the hub's handlers serve only its own)
import logging as _logging
_handler = _logging.StreamHandler()
_handler.setFormatter(_logging.Formatter("[%(levelname).1s %(asctime)s %(name)s] %(message)s"))
_logging.getLogger("jupyterhub_teams").addHandler(_handler)
_logging.getLogger("jupyterhub_teams").setLevel(_logging.DEBUG)
c.Spawner.debug = True
c.Spawner.args = [*c.Spawner.args, "--debug"]  # the server extension's log level
import sys as _sys
for _service in c.JupyterHub.services:
    if _service["name"] == {SERVICE!r}:
        _service["command"] = [_sys.executable, "-c", {SERVICE_AT_DEBUG!r}]
"""


class SecretsHub(Hub):
    """A hub with the bind password and the crypt key in its environment, and only there."""

    def environment(self) -> dict[str, str]:
        return {PASSWORD_ENV: BIND_PASSWORD, "JUPYTERHUB_CRYPT_KEY": CRYPT_KEY}


@dataclass
class Page:
    viewer: str
    url: str
    sent: str  # what the viewer brought: the request's address, body and cookies, decoded
    text: str


@dataclass
class Recorder:
    """Every HTML page people were shown, and the OAuth authorization codes they carried."""

    pages: list[Page] = field(default_factory=list)
    oauth_codes: list[str] = field(default_factory=list)

    def follow(self, person: Person) -> Person:
        def record(response: httpx.Response) -> None:
            location = response.headers.get("location", "")
            if urlsplit(location).path.endswith("/oauth_callback"):
                self.oauth_codes += parse_qs(urlsplit(location).query).get("code", [])
            # a redirect's body is never shown: the browser goes on
            if response.is_redirect or "text/html" not in response.headers.get("content-type", ""):
                return
            response.read()
            request = response.request
            body = request.content.decode(errors="replace")
            cookies = [cookie_value(v) for v in request.headers.get_list("cookie")]
            sent = " ".join([unquote_plus(str(request.url)), unquote_plus(body), *cookies])
            self.pages.append(Page(person.name, str(request.url), sent, response.text))

        person.http.event_hooks = {"request": [], "response": [record]}
        return person


@pytest.fixture(scope="module")
def directory() -> GeneratedDirectory:
    return generate(12, 3, mean_groups=2, heavy_fraction=0, heavy_groups=1, seed=5)


@pytest.fixture(scope="module")
def slapd(
    tmp_path_factory: pytest.TempPathFactory, directory: GeneratedDirectory
) -> Iterator[Slapd]:
    server = Slapd(tmp_path_factory.mktemp("secrets-slapd")).load_directory(directory).start()
    try:
        # the reader's password becomes one made for this run (slapd checks it as given)
        server.modify(
            f"dn: {directory.reader_dn}\nchangetype: modify\nreplace: userPassword\n"
            f"userPassword: {BIND_PASSWORD}\n"
        )
        yield server
    finally:
        server.stop()


def pair(directory: GeneratedDirectory) -> tuple[str, str, str]:
    """A team and two of its members."""
    team = next(g for g in directory.groups if len(g.members) >= 2)
    return team.name, team.members[0], team.members[1]


@pytest.fixture(scope="module")
def hub(
    tmp_path_factory: pytest.TempPathFactory, slapd: Slapd, directory: GeneratedDirectory
) -> Iterator[Hub]:
    state = tmp_path_factory.mktemp("secrets")
    pre_config = slapd.hub_config(directory, PASSWORD_ENV, timeout=2.0, snapshot_timeout=20.0)
    hub = SecretsHub(state / "hub", sync_interval=2, pre_config=pre_config)
    _, first, second = pair(directory)
    provider = OIDCProvider(
        state / "oidc", {first: [], second: []}, f"{hub.url}/hub/oauth_callback"
    )
    hub.extra_config = generic_oauth_config(hub, provider, ["openid", "profile"])
    hub.extra_config += DEBUG_EVERYWHERE
    try:
        provider.start()
        hub.start()
        yield hub
    finally:
        hub.stop()
        provider.stop()


def environments(hub: Hub) -> list[dict[str, str]]:
    """The environment of every process the hub started (proxy, sync service, servers)."""
    assert hub.process is not None
    found = []
    for child in psutil.Process(hub.process.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            found.append(dict(child.environ()))
    return found


def api_token_of(hub: Hub, client_id: str) -> str:
    """``$JUPYTERHUB_API_TOKEN`` of the process the hub started with the OAuth client
    ``client_id`` (the sync service, a single-user server)."""
    tokens = [
        env["JUPYTERHUB_API_TOKEN"]
        for env in environments(hub)
        if env.get("JUPYTERHUB_CLIENT_ID") == client_id
    ]
    assert len(tokens) == 1, f"{len(tokens)} processes of the hub are {client_id}"
    return tokens[0]


def proxy_token(hub: Hub) -> str:
    """The token the hub and its proxy share (``CONFIGPROXY_AUTH_TOKEN``)."""
    tokens = {
        env["CONFIGPROXY_AUTH_TOKEN"]
        for env in environments(hub)
        if env.get("CONFIGPROXY_AUTH_TOKEN")
    }
    assert len(tokens) == 1, "the proxy's token was not found"
    return tokens.pop()


def signed_cookie_value(cookie: str) -> str:
    """The value inside a tornado signed cookie (version 2: ``2|`` then length-prefixed key
    version, timestamp, name and base64 value, then the signature)."""
    rest = cookie.strip('"')
    assert rest.startswith("2|"), cookie
    rest = rest[2:]
    fields = []
    for _ in range(4):
        length, _, rest = rest.partition(":")
        fields.append(rest[: int(length)])
        rest = rest[int(length) + 1 :]
    return base64.b64decode(fields[3]).decode()


def cookie_value(header: str) -> str:
    """A ``Cookie`` header's values, signed ones also decoded."""
    values = []
    for item in header.split(";"):
        value = item.partition("=")[2].strip()
        values.append(value)
        with contextlib.suppress(ValueError, AssertionError, UnicodeDecodeError):
            values.append(signed_cookie_value(value))
    return " ".join(values)


def server_oauth_tokens(person: Person) -> list[str]:
    """The OAuth access tokens this person's browser holds for single-user servers."""
    return [
        signed_cookie_value(c.value or "")
        for c in person.http.cookies.jar
        if c.name.startswith("jupyterhub-user-")
    ]


def members(hub: Hub, group: str) -> set[str]:
    return set((hub.group(group) or {}).get("users", []))


def has_members(hub: Hub, group: str, expected: set[str]) -> bool:
    return members(hub, group) == expected


def redacted(line: str, found: dict[str, str]) -> str:
    for name, value in found.items():
        line = line.replace(value, f"<{name}>")
    return line


def search(
    found_in: dict[str, str], log_lines: list[str], pages: list[Page]
) -> tuple[list[str], list[str]]:
    """Where each secret appears (log line number and the line, redacted; page and viewer),
    and the pages not searched for a secret because their own request carried it."""
    hits = []
    for number, line in enumerate(log_lines, 1):
        for name, value in found_in.items():
            if value in line:
                hits.append(f"{name}: hub log line {number}: {redacted(line, found_in)[:400]}")
    skipped = []
    for page in pages:
        where = redacted(page.url, found_in)
        for name, value in found_in.items():
            if value in page.sent:
                shown = "shown back" if value in page.text else "not shown"
                skipped.append(f"{name} on {where} ({shown})")
            elif value in page.text:
                hits.append(f"{name}: page {where} shown to {page.viewer}")
    return hits, skipped


def test_no_secret_in_any_log_line_or_page(hub: Hub, directory: GeneratedDirectory) -> None:
    team, first, second = pair(directory)
    account = f"collab-{team}"
    recorder = Recorder()

    # -- the LDAP bind: the sync made every directory group a team, with its members ---------
    for g in directory.groups:
        hub.wait_for_sync(partial(has_members, hub, g.name, set(g.members)), what=g.name)
    hub.wait_for_sync(lambda: account in members(hub, "jupyterhub-teams-accounts"), what=account)
    assert BIND_PASSWORD not in (hub.state_dir / "jupyterhub_config.py").read_text()

    # -- logins through the provider (the client secret pays for the token) ------------------
    alice = oauth_login(recorder.follow(Person(hub, first)))
    bob = oauth_login(recorder.follow(Person(hub, second)))
    auth_state: dict[str, Any] = hub.user(first)["auth_state"]  # decrypted with the crypt key
    provider_tokens = {
        f"OIDC {kind}": auth_state[kind]
        for kind in ("access_token", "id_token", "refresh_token")
        if auth_state.get(kind)
    }
    assert "OIDC access_token" in provider_tokens

    # -- servers: alice's own, and the team's ----------------------------------------------
    assert alice.hub_api("POST", f"users/{first}/server").status_code in STARTED
    assert bob.hub_api("POST", f"users/{account}/server").status_code in STARTED
    for name in (first, account):
        wait_for(partial(hub.server_ready, name), 60, what=f"{name}'s server")
    assert consent_or_lab(alice.open(f"/user/{account}/lab"))
    assert consent_or_lab(bob.open(f"/user/{account}/lab"))

    # -- an API token, made as the token page makes it, and used -------------------------
    made = alice.hub_api(
        "POST", f"users/{first}/tokens", json={"note": "secrets", "expires_in": 3600}
    )
    assert made.status_code == 201, made.text
    api_token = made.json()["token"]
    me = httpx.get(f"{hub.api_url}/user", headers={"Authorization": f"token {api_token}"})
    assert me.status_code == 200 and me.json()["name"] == first

    # -- a share code for alice's server, redeemed by bob through the accept page ------------
    shared = alice.hub_api("POST", f"share-codes/{first}/", json={"expires_in": 3600})
    assert shared.status_code == 200, shared.text
    share_code = shared.json()["code"]
    page = bob.http.get("/hub/accept-share", params={"code": share_code})
    assert page.status_code == 200, page.text
    xsrf = bob.cookie("_xsrf", "/hub/accept-share") or ""
    accepted = bob.http.post("/hub/accept-share", data={"code": share_code, "_xsrf": xsrf})
    assert accepted.status_code == 302, accepted.text
    assert consent_or_lab(bob.open(f"/user/{first}/lab"))
    shares = hub.api("GET", f"shares/{first}/").json()["items"]
    assert [s["user"]["name"] for s in shares if s["user"]] == [second]

    # -- an ad-hoc team, and an invitation bob uses ----------------------------------------
    created = teams_api(alice, "POST", "", json={"name": "Secret club"})
    assert created.status_code == 201, created.text
    adhoc = created.json()["team"]
    invited = teams_api(alice, "POST", f"/{adhoc}/invites", json={"expires_in": 3600})
    assert invited.status_code == 201, invited.text
    invite_code = invited.json()["code"]
    join = bob.http.get(f"/hub/teams/join?code={quote(invite_code, safe='')}")
    assert join.status_code == 200, join.text
    xsrf = bob.cookie("_xsrf", "/hub/teams/join") or ""
    joined = bob.http.post("/hub/teams/join", data={"code": invite_code, "_xsrf": xsrf})
    assert joined.status_code == 302, joined.text
    assert members(hub, adhoc) == {first, second}

    # -- the pages people see ------------------------------------------------------------
    for person in (alice, bob):
        for path in (
            "/hub/home",
            "/hub/token",
            "/hub/teams",
            f"/hub/teams/card/{team}",
            f"/hub/teams/card/{adhoc}",
            "/hub/sharing",
            f"/hub/sharing/card/{first}/",
            "/hub/teams/join?code=not-a-code",
            "/hub/no-such-page",
        ):
            person.open(path)
    visitor = recorder.follow(Person(hub, "visitor"))
    visitor.open("/hub/login")

    # -- the admin token, on the hub and on the sync service's metrics -------------------
    admin = {"Authorization": f"token {hub.admin_token}"}
    metrics = httpx.get(f"{hub.url}/services/{SERVICE}/metrics", headers=admin, timeout=30)
    assert metrics.status_code == 200, metrics.text
    # a client putting the token in the address is refused, and its request's log line must
    # not carry it
    misused = httpx.get(
        f"{hub.url}/services/{SERVICE}/metrics", params={"token": hub.admin_token}, timeout=30
    )
    assert misused.status_code == 403, misused.text

    # -- every secret of the run: long, random, distinct, and used above ------------------
    found_in: dict[str, str] = {
        "LDAP bind password": BIND_PASSWORD,
        "OIDC client secret": CLIENT_SECRET,
        "sync service token": api_token_of(hub, f"service-{SERVICE}"),
        "admin service token": hub.admin_token,
        "proxy auth token": proxy_token(hub),
        "crypt key": CRYPT_KEY,
        f"{first}'s API token": api_token,
        f"{first}'s server token": api_token_of(hub, f"jupyterhub-user-{first}"),
        "team server token": api_token_of(hub, f"jupyterhub-user-{account}"),
        **provider_tokens,
        "share code": share_code,
        "invitation code": invite_code,
        "invitation secret": invite_code.split(".", 1)[1],
    }
    for person in (alice, bob):
        for i, token in enumerate(server_oauth_tokens(person)):
            found_in[f"{person.name}'s server OAuth token {i}"] = token
    # one code from the provider per login, one from the hub per server opened
    assert len(recorder.oauth_codes) >= 5, recorder.oauth_codes
    for i, code in enumerate(recorder.oauth_codes):
        found_in[f"OAuth authorization code {i}"] = code
    assert len([n for n in found_in if "server OAuth token" in n]) >= 3
    for name, value in found_in.items():
        assert isinstance(value, str) and len(value) >= 16, f"{name} is trivial: {value!r}"
    assert len(set(found_in.values())) == len(found_in), "two secrets are the same"

    # -- the search, after the hub (and everything it started) has stopped ---------------
    for person in (alice, bob, visitor):
        person.close()
    hub.stop()
    log_lines = hub.log_text().splitlines()
    for source in (" JupyterHub ", " ServerApp]", " jupyterhub_teams.sources.ldap]"):
        assert any(line.startswith("[D ") and source in line for line in log_lines), source
    hits, skipped = search(found_in, log_lines, recorder.pages)
    characters = sum(len(p.text) for p in recorder.pages)
    print(
        f"searched {len(log_lines)} log lines and {len(recorder.pages)} HTML pages "
        f"({characters} characters) for {len(found_in)} secrets: {len(hits)} found; "
        f"{len(skipped)} page/secret pairs not searched (the page's own request carried the "
        "secret):\n  " + "\n  ".join(skipped)
    )
    assert hits == [], "secrets found:\n" + "\n".join(hits)
