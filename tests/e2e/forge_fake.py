"""GitHub and GitLab, as far as oauthenticator's GitHubOAuthenticator and GitLabOAuthenticator
(17.x) use them, on one loopback port.

Neither service can be reached from these machines, so the tests drive the real authenticator
classes against this fake. It serves the endpoints those classes call, with the payload shapes
the providers document:

GitHub (``github_url = <fake>/github``; the authenticator then uses ``<fake>/github/api/v3``):

* ``GET  /github/login/oauth/authorize`` → redirect back with ``code`` and ``state``
* ``POST /github/login/oauth/access_token`` → ``{"access_token", "token_type": "bearer", "scope"}``
* ``GET  /github/api/v3/user`` → ``{"login", "id", "name", "email"}``
* ``GET  /github/api/v3/user/teams`` → team objects (``slug``, ``name``, ``organization.login``,
  ...), paginated with a ``Link: <…>; rel="next"`` header
* ``GET  /github/api/v3/orgs/{org}/teams/{team_slug}/members`` → member objects (``login``, ...),
  paginated the same way; 404 for a team nobody was ever put in (the organisation's name is
  case-insensitive, as on GitHub)

GitLab (``gitlab_url = <fake>/gitlab``; the API is ``<fake>/gitlab/api/v4``):

* ``GET  /gitlab/oauth/authorize``, ``POST /gitlab/oauth/token`` (``token_type: "Bearer"``)
* ``GET  /gitlab/api/v4/user`` → ``{"id", "username", "name", "state", "email"}``
* ``GET  /gitlab/api/v4/groups?min_access_level=10`` → group objects (``full_path``, ...),
  paginated with ``X-Next-Page`` / ``X-Page`` / ``X-Total`` headers
* ``GET  /gitlab/api/v4/groups/{url-encoded full_path}/members/all`` → member objects
  (``username``, ``access_level``, ...), members of the group or of a group above it
  (inherited), paginated the same way

Pages hold two items whatever ``per_page`` asks for, so that a handful of teams already spans
pages. Who logs in is chosen with GitHub's own ``login`` parameter on the authorize URL (the
test adds it, as a person picking their account would).

Teams and groups are the membership maps (``github_teams``, ``gitlab_groups``); a test changes
a team's members at the provider with :meth:`Forge.set_github_team`, makes one team's member
list fail with ``failing`` (``"org:slug"`` or a GitLab full path → HTTP status), and gets an
API token for an admin's script with :meth:`Forge.issue_token`. Request lines (never headers)
are recorded in ``requests``.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

PAGE = 2


class Forge:
    """The fake. ``github_teams`` and ``gitlab_groups`` map a login to its teams or groups."""

    def __init__(self) -> None:
        self.github_teams: dict[str, list[tuple[str, str]]] = {}  # login → [(org, slug)]
        self.gitlab_groups: dict[str, list[str]] = {}  # login → [full_path]
        self._codes: dict[str, str] = {}
        self._tokens: dict[str, str] = {}
        self.requests: list[str] = []
        # team paths ("org:slug", a GitLab full path) whose member lists answer this status
        self.failing: dict[str, int] = {}
        # GitHub teams that exist with nobody in them: (org in lower case, slug)
        self._empty_github_teams: set[tuple[str, str]] = set()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- payloads as the providers document them ----------------------------------------------

    @staticmethod
    def _github_team(org: str, slug: str) -> dict[str, Any]:
        return {
            "id": abs(hash((org, slug))) % 100_000,
            "node_id": "T_x",
            "url": f"https://api.github.com/teams/{slug}",
            "name": slug.replace("-", " ").title(),
            "slug": slug,
            "description": "",
            "privacy": "closed",
            "permission": "pull",
            "parent": None,
            "organization": {"login": org, "id": abs(hash(org)) % 100_000, "type": "Organization"},
        }

    @staticmethod
    def _gitlab_group(full_path: str) -> dict[str, Any]:
        name = full_path.rsplit("/", 1)[-1]
        parent = full_path.rsplit("/", 1)[0] if "/" in full_path else None
        return {
            "id": abs(hash(full_path)) % 100_000,
            "name": name,
            "path": name,
            "full_name": full_path.replace("/", " / "),
            "full_path": full_path,
            "parent_id": abs(hash(parent)) % 100_000 if parent else None,
            "visibility": "private",
        }

    # -- what a test changes ----------------------------------------------------------------------

    def issue_token(self, login: str = "org-admin") -> str:
        """A new API token acting as ``login`` (an admin's token with ``read:org``)."""
        token = secrets.token_hex(20)
        self._tokens[token] = login
        return token

    def set_github_team(self, org: str, slug: str, logins: list[str]) -> None:
        """Make ``logins`` exactly the members of the GitHub team ``org:slug``."""
        key = (org.lower(), slug)
        for login in set(self.github_teams) | set(logins):
            teams = [t for t in self.github_teams.get(login, []) if (t[0].lower(), t[1]) != key]
            self.github_teams[login] = teams + ([(org, slug)] if login in logins else [])
        self._empty_github_teams.add(key)

    def github_team_members(self, org: str, slug: str) -> list[str] | None:
        """The logins in ``org:slug``; None when the team does not exist."""
        key = (org.lower(), slug)
        logins = sorted(
            login
            for login, teams in self.github_teams.items()
            if any((o.lower(), s) == key for o, s in teams)
        )
        return logins if logins or key in self._empty_github_teams else None

    def gitlab_group_members(self, full_path: str) -> list[str] | None:
        """The usernames in ``full_path`` or in a group above it; None when nobody ever was."""
        above = {full_path} | {
            full_path.rsplit("/", n)[0] for n in range(1, full_path.count("/") + 1)
        }
        if not any(full_path in paths for paths in self.gitlab_groups.values()):
            return None
        return sorted(u for u, paths in self.gitlab_groups.items() if above & set(paths))

    # -- server ---------------------------------------------------------------------------------

    def start(self) -> Forge:
        forge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                forge.requests.append(f"{self.command} {self.path}")

            def do_GET(self) -> None:
                forge._get(self)

            def do_POST(self) -> None:
                forge._post(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _who(self, handler: BaseHTTPRequestHandler) -> str | None:
        kind, _, token = handler.headers.get("Authorization", "").partition(" ")
        if kind.lower() not in ("bearer", "token"):
            return None
        return self._tokens.get(token)

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        if path in ("/github/login/oauth/authorize", "/gitlab/oauth/authorize"):
            login = query.get("login")
            if not login:
                self._send(handler, 400, {"message": "add login=<account> to sign in"})
                return
            code = secrets.token_hex(8)
            self._codes[code] = login
            target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            handler.send_response(302)
            handler.send_header("Location", target)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        who = self._who(handler)
        if who is None:
            self._send(handler, 401, {"message": "Bad credentials"})
            return
        page = int(query.get("page", "1"))
        if path == "/github/api/v3/user":
            self._send(
                handler,
                200,
                {
                    "login": who,
                    "id": abs(hash(who)) % 10_000,
                    "name": who.title(),
                    "email": f"{who}@example.org",
                },
            )
        elif path == "/github/api/v3/user/teams":
            teams = [self._github_team(o, s) for o, s in self.github_teams.get(who, [])]
            items, more = teams[(page - 1) * PAGE : page * PAGE], len(teams) > page * PAGE
            headers = {}
            if more:
                following = f"{self.url}{path}?{urlencode({**query, 'page': page + 1})}"
                headers["Link"] = f'<{following}>; rel="next"'
            self._send(handler, 200, items, headers)
        elif path == "/gitlab/api/v4/user":
            self._send(
                handler,
                200,
                {
                    "id": abs(hash(who)) % 10_000,
                    "username": who,
                    "name": who.title(),
                    "state": "active",
                    "email": f"{who}@example.org",
                },
            )
        elif path == "/gitlab/api/v4/groups":
            level = int(query.get("min_access_level", "0"))
            groups = [self._gitlab_group(p) for p in self.gitlab_groups.get(who, [])]
            groups = groups if level <= 10 else []  # the fake's people are Guests or more
            items, more = groups[(page - 1) * PAGE : page * PAGE], len(groups) > page * PAGE
            headers = {
                "X-Page": str(page),
                "X-Per-Page": str(PAGE),
                "X-Total": str(len(groups)),
                "X-Next-Page": str(page + 1) if more else "",
            }
            self._send(handler, 200, items, headers)
        elif path.startswith("/github/api/v3/orgs/") and path.endswith("/members"):
            parts_ = path.split("/")  # ['', 'github', 'api', 'v3', 'orgs', org, 'teams', slug, ..]
            org, slug = unquote(parts_[5]), unquote(parts_[7])
            self._members(handler, f"{org}:{slug}", self.github_team_members(org, slug), query)
        elif path.startswith("/gitlab/api/v4/groups/") and path.endswith("/members/all"):
            full_path = unquote(path[len("/gitlab/api/v4/groups/") : -len("/members/all")])
            self._members(handler, full_path, self.gitlab_group_members(full_path), query)
        else:
            self._send(handler, 404, {"message": "Not Found"})

    def _members(
        self,
        handler: BaseHTTPRequestHandler,
        team: str,
        logins: list[str] | None,
        query: dict[str, str],
    ) -> None:
        """One page of a team's members, in the provider's shape and paging."""
        if team in self.failing:
            self._send(handler, self.failing[team], {"message": "Server Error"})
            return
        if logins is None:
            self._send(handler, 404, {"message": "Not Found"})
            return
        page = int(query.get("page", "1"))
        items, more = logins[(page - 1) * PAGE : page * PAGE], len(logins) > page * PAGE
        path = urlsplit(handler.path).path
        if path.startswith("/github"):
            members = [
                {"login": login, "id": abs(hash(login)) % 10_000, "type": "User"} for login in items
            ]
            headers = {}
            if more:
                following = f"{self.url}{path}?{urlencode({**query, 'page': page + 1})}"
                headers["Link"] = f'<{following}>; rel="next"'
            self._send(handler, 200, members, headers)
            return
        members = [
            {"id": abs(hash(u)) % 10_000, "username": u, "state": "active", "access_level": 30}
            for u in items
        ]
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(PAGE),
            "X-Total": str(len(logins)),
            "X-Next-Page": str(page + 1) if more else "",
        }
        self._send(handler, 200, members, headers)

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
        path = urlsplit(handler.path).path
        login = self._codes.pop(form.get("code", ""), None)
        if path not in ("/github/login/oauth/access_token", "/gitlab/oauth/token"):
            self._send(handler, 404, {"message": "Not Found"})
            return
        if login is None or form.get("client_secret") != "forge-secret":
            self._send(
                handler,
                200,
                {
                    "error": "bad_verification_code",
                    "error_description": "The code is wrong or expired.",
                },
            )
            return
        token = secrets.token_hex(16)
        self._tokens[token] = login
        if path.startswith("/github"):
            self._send(
                handler, 200, {"access_token": token, "token_type": "bearer", "scope": "read:org"}
            )
        else:
            self._send(
                handler,
                200,
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "refresh_token": secrets.token_hex(16),
                    "scope": "read_user read_api",
                    "created_at": 0,
                },
            )
