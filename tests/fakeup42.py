"""A fake UP42 token server that really listens on 127.0.0.1.

It checks what up42keys sends (HTTP Basic with the project ID and API key,
the form body and its content type), mints HS512 JWTs whose ``sub`` and
``aud`` are the project ID, counts the mints, records every request, and
injects faults from a queue so that each failure mode can be tested.

``GET /v2/whoami`` stands for any UP42 API call: it answers 200 only to a
bearer token that this server signed, that has not expired and that was not
revoked (``revoke``), and 401 otherwise; ``api_tokens`` lists the tokens it
accepted and ``api_rejections`` counts the 401s. Faults never apply to it.
The other API paths take the same tokens: ``/v2/redirect?to=URL`` answers 307
to URL (method and body kept), ``USERINFO_PATH`` gives an account's workspace
ID as ``sub`` (what up42-py's ``authenticate`` reads), ``/v2/assets/stac/`` is
a STAC API with no collections and ``/v2/orders`` one page with no orders.
``api_requests`` records every request to an API path, with or without a token, and
``rejected`` the path and reason of each 401. With ``assets`` set (tests/fakeassets.py), the
``/v2/assets/`` paths serve a COG, a download URL on a storage host and a fuller STAC API.
The account sign-in takes both client IDs UP42 takes (``up42-api`` from UP42's
docs, ``up42-sdk`` from up42-py) and counts the grants by client ID in ``clients``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

SIGNING_KEY = "fake-up42-signing-key-for-tests-only-" + "0123456789abcdef" * 4
PROJECT_PATH = "/oauth/token"
ACCOUNT_PATH = "/realms/public/protocol/openid-connect/token"
API_PATH = "/v2/whoami"
REDIRECT_PATH = "/v2/redirect"
USERINFO_PATH = "/realms/public/protocol/openid-connect/userinfo"
STAC_PATH = "/v2/assets/stac/"
ORDERS_PATH = "/v2/orders"
CLIENT_IDS = ("up42-api", "up42-sdk")


@dataclass
class Fault:
    """One injected answer in place of the normal one."""

    status: int = 200
    json_body: Any = None
    text_body: str | None = None
    # Bytes sent as they are (a compressed body, bytes that are not UTF-8).
    raw_body: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0
    # Slow answers that never stop while the client keeps reading: a body sent one byte
    # every ``trickle`` seconds, an endless chunked body, or a 100 Continue every
    # ``continues`` seconds and never a final answer.
    trickle: float = 0.0
    endless: bool = False
    continues: float = 0.0


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: str
    method: str = "POST"


class FakeUp42:
    """State and controls of the fake server; start() binds it to a free loopback port."""

    def __init__(self) -> None:
        self.projects: dict[str, str] = {}
        self.accounts: dict[str, str] = {}
        self.token_ttl = 300
        self.refresh_ttl = 1800
        # Sent as expires_in when set; the JWT's own exp always says token_ttl (unless omit_exp).
        self.expires_in: int | None = None
        self.omit_exp = False
        self.top_level_token = False
        # Seconds the server's clock (its Date header) runs ahead of the real one.
        self.clock_offset = 0.0
        self.faults: deque[Fault] = deque()
        # Answers of the userinfo endpoint (up42-py's workspace ID) in place of the normal one.
        self.userinfo_faults: deque[Fault] = deque()
        self.requests: list[Recorded] = []
        self.mints = 0
        self.grants: dict[str, int] = {}
        self.clients: dict[str, int] = {}
        self.workspaces: dict[str, str] = {}
        self.api_requests: list[Recorded] = []
        self.refresh_tokens: dict[str, str] = {}
        self.revoked: set[str] = set()
        self.api_tokens: list[str] = []
        self.api_rejections = 0
        self.rejected: list[tuple[str, str]] = []  # (path, why) of each 401 on an API path
        # Takes the /v2/assets/ paths when set (tests/fakeassets.py: a COG, storage and STAC).
        self.assets: Any = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_project(self, project_id: str, api_key: str) -> None:
        self.projects[project_id] = api_key

    def add_account(self, username: str, password: str) -> None:
        self.accounts[username] = password
        self.workspaces[username] = str(uuid.uuid4())

    def inject(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def revoke(self, token: str) -> None:
        """Refuse ``token`` from now on, as UP42 does with a token revoked before it expires."""
        with self._lock:
            self.revoked.add(token)

    @property
    def api_url(self) -> str:
        return self.url + API_PATH

    def start(self) -> FakeUp42:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                if self.path.startswith("/v2/"):
                    fake.handle_api(self)
                else:
                    fake.handle(self)

            def do_GET(self) -> None:
                fake.handle_api(self)

            do_HEAD = do_GET

            def date_time_string(self, timestamp: float | None = None) -> str:
                moment = time.time() if timestamp is None else timestamp
                return super().date_time_string(moment + fake.clock_offset)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def mint_jwt(self, subject: str, ttl: int) -> str:
        now = int(time.time())
        claims = {
            "sub": subject,
            "aud": subject,
            "iat": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
        }
        if self.omit_exp:
            del claims["exp"]
        return jwt.encode(claims, SIGNING_KEY, algorithm="HS512")

    # -- request handling -------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length).decode("utf-8", "replace")
        with self._lock:
            self.requests.append(Recorded(request.path, dict(request.headers.items()), body))
            fault = self.faults.popleft() if self.faults else None
        if fault is not None:
            self._answer_fault(request, fault)
            return
        if request.headers.get("Content-Type", "").split(";")[0] != (
            "application/x-www-form-urlencoded"
        ):
            self._json(request, 415, {"error": {"code": 415, "message": "form body expected"}})
            return
        form = {key: values[0] for key, values in urllib.parse.parse_qs(body).items()}
        if request.path == PROJECT_PATH:
            self._project_grant(request, form)
        elif request.path == ACCOUNT_PATH:
            self._account_grant(request, form)
        else:
            self._json(request, 404, {"error": {"code": 404, "message": "no such path"}})

    def handle_api(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length).decode("utf-8", "replace")
        path, _, query = request.path.partition("?")
        with self._lock:
            self.api_requests.append(
                Recorded(path, dict(request.headers.items()), body, request.command)
            )
        if self.assets is not None and self.assets.handles(path):
            self.assets.answer(request, path, query)
            return
        if path not in (
            API_PATH,
            REDIRECT_PATH,
            USERINFO_PATH,
            STAC_PATH,
            STAC_PATH + "collections",
            ORDERS_PATH,
        ):
            self._json(request, 404, {"error": {"code": 404, "message": "no such path"}})
            return
        _, claims, problem = self._bearer(request)
        if problem is not None:
            self._json(request, 401, {"error": {"code": 401, "message": problem}})
            return
        if path == REDIRECT_PATH:
            target = urllib.parse.parse_qs(query).get("to", [""])[0]
            fault = Fault(status=307, json_body={}, headers={"Location": target})
            self._answer_fault(request, fault)
        elif path == USERINFO_PATH and self.userinfo_faults:
            self._answer_fault(request, self.userinfo_faults.popleft())
        elif path == USERINFO_PATH:
            workspace = self.workspaces.get(claims["sub"], claims["sub"])
            self._json(request, 200, {"sub": workspace, "email": claims["sub"]})
        elif path == ORDERS_PATH:
            self._json(request, 200, {"content": [], "totalPages": 1})
        elif path.startswith(STAC_PATH):
            self._json(request, 200, self._stac(request, path))
        else:
            self._json(request, 200, {"data": {"projectId": claims["sub"]}})

    def accepted_bearer(self, request: BaseHTTPRequestHandler) -> str | None:
        """The request's bearer token when this server signed it and it is valid, else None."""
        token, _, problem = self._bearer(request)
        return None if problem is not None else token

    def _bearer(self, request: BaseHTTPRequestHandler) -> tuple[str, dict[str, Any], str | None]:
        """The token, its claims and why it is refused (None: accepted); counts both outcomes."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        problem = "not a bearer token" if scheme.lower() != "bearer" else None
        if token in self.revoked:
            problem = "the token was revoked"
        claims: dict[str, Any] = {}
        try:
            claims = jwt.decode(
                token, SIGNING_KEY, algorithms=["HS512"], options={"verify_aud": False}
            )
        except jwt.InvalidTokenError as error:
            problem = str(error)
        with self._lock:
            if problem is None:
                self.api_tokens.append(token)
            else:
                self.api_rejections += 1
                self.rejected.append((request.path, problem))
        return token, claims, problem

    def _stac(self, request: BaseHTTPRequestHandler, path: str) -> dict[str, Any]:
        root = f"http://{request.headers['Host']}{STAC_PATH}"
        if path != STAC_PATH:
            return {"collections": [], "links": [{"rel": "self", "href": root + "collections"}]}
        return {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": "fake-up42-storage",
            "description": "The fake UP42's storage: no collections",
            "conformsTo": [
                "https://api.stacspec.org/v1.0.0/core",
                "https://api.stacspec.org/v1.0.0/collections",
            ],
            "links": [
                {"rel": "self", "href": root, "type": "application/json"},
                {"rel": "root", "href": root, "type": "application/json"},
                {"rel": "data", "href": root + "collections", "type": "application/json"},
            ],
        }

    def _project_grant(self, request: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        if form.get("grant_type") != "client_credentials":
            self._json(request, 400, {"error": {"code": 400, "message": "bad grant_type"}})
            return
        project_id, api_key = _basic_credentials(request.headers.get("Authorization", ""))
        if project_id not in self.projects or self.projects[project_id] != api_key:
            self._json(request, 401, {"error": {"code": 401, "message": "Invalid credentials"}})
            return
        token = self._count_and_mint("client_credentials", project_id)
        body: dict[str, Any] = (
            {"access_token": token} if self.top_level_token else {"data": {"accessToken": token}}
        )
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        self._json(request, 200, body)

    def _account_grant(self, request: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        grant = form.get("grant_type")
        client_id = form.get("client_id", "")
        if client_id not in CLIENT_IDS:
            self._json(request, 401, {"error": "invalid_client", "error_description": "client"})
            return
        if grant == "password":
            username = form.get("username", "")
            if self.accounts.get(username) != form.get("password") or form.get("scope") != "openid":
                self._json(
                    request,
                    401,
                    {"error": "invalid_grant", "error_description": "Invalid user credentials"},
                )
                return
        elif grant == "refresh_token":
            username = self.refresh_tokens.get(form.get("refresh_token", ""), "")
            if not username:
                self._json(
                    request,
                    400,
                    {"error": "invalid_grant", "error_description": "Token is not active"},
                )
                return
        else:
            self._json(request, 400, {"error": "unsupported_grant_type"})
            return
        token = self._count_and_mint(grant, username)
        refresh = self.mint_jwt(username, self.refresh_ttl)
        with self._lock:
            self.refresh_tokens[refresh] = username
            self.clients[client_id] = self.clients.get(client_id, 0) + 1
        self._json(
            request,
            200,
            {
                "access_token": token,
                "expires_in": self.token_ttl,
                "refresh_token": refresh,
                "refresh_expires_in": self.refresh_ttl,
                "token_type": "Bearer",
            },
        )

    def _count_and_mint(self, grant: str, subject: str) -> str:
        with self._lock:
            self.mints += 1
            self.grants[grant] = self.grants.get(grant, 0) + 1
        return self.mint_jwt(subject, self.token_ttl)

    def _answer_fault(self, request: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.trickle or fault.endless or fault.continues:
            request.close_connection = True
            with contextlib.suppress(OSError):
                _answer_slowly(request, fault, self.mint_jwt("slow", self.token_ttl))
            return
        if fault.hang:
            time.sleep(fault.hang)
            request.close_connection = True
            return
        if fault.raw_body is not None:
            self._send(request, fault.status, fault.raw_body, fault.content_type, fault)
        elif fault.text_body is not None:
            self._send(request, fault.status, fault.text_body.encode(), fault.content_type, fault)
        else:
            self._send(
                request,
                fault.status,
                json.dumps(fault.json_body).encode(),
                "application/json",
                fault,
            )

    def _json(self, request: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        self._send(request, status, json.dumps(body).encode(), "application/json", None)

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        payload: bytes,
        content_type: str,
        fault: Fault | None,
    ) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(payload)))
        for name, value in (fault.headers if fault else {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(payload)


# However slow the answer, the server gives up after this long (the client should, far sooner).
SLOW_ANSWER_LIMIT = 120.0


def _answer_slowly(request: BaseHTTPRequestHandler, fault: Fault, token: str) -> None:
    """Keep the client reading, with one small write at a time, until it hangs up."""
    stop = time.monotonic() + SLOW_ANSWER_LIMIT
    if fault.continues:
        while time.monotonic() < stop:
            request.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.wfile.flush()
            time.sleep(fault.continues)
        return
    body = json.dumps({"data": {"accessToken": token}}).encode()
    request.send_response(200)
    request.send_header("Content-Type", "application/json")
    if fault.endless:
        request.send_header("Transfer-Encoding", "chunked")
    else:
        request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.flush()
    if fault.endless:
        # JSON may start with any amount of whitespace: each chunk is one more space.
        while time.monotonic() < stop:
            request.wfile.write(b"1\r\n \r\n")
            request.wfile.flush()
            time.sleep(0.05)
        return
    for byte in body:
        request.wfile.write(bytes([byte]))
        request.wfile.flush()
        time.sleep(fault.trickle)


class _Server(ThreadingHTTPServer):
    # A backlog for many clients connecting at once (the default of 5 drops connections).
    request_queue_size = 64

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (as up42keys does on a refused answer) is no server error:
        socketserver would print a traceback for it, into the output tests read."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return "", ""
    return username, password


def closed_port_url() -> str:
    """A loopback URL where nothing listens: bind a port, then free it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
