"""What the up42-py SDK offers no public API for, in one place, for the versions it was checked on.

``up42.authenticate`` both signs in (with a password, as client ``up42-sdk``)
and sets the SDK up; ``up42keys.sdk`` needs the second half alone. So this
module does what ``up42.base._Workspace.authenticate`` does after its
sign-in, with up42keys' auth in place of the SDK's: set
``up42.host.REGION`` and point ``up42.host``'s URL functions at the profile's
own hosts, build the session with ``up42.http.session.create``,
read the workspace ID from ``up42.host.user_info_endpoint()`` (its ``sub``)
and store session, auth and ID in ``up42.base.workspace`` (``_session``,
``_auth``, ``_id``). These internals are the same in up42-py 3.0.0, 4.0.0 and
4.3.0; any other major version is refused rather than half worked with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from up42keys.errors import InputError, Up42KeysError, Up42UnavailableError, UsageError
from up42keys.remote.accounts import TOKEN_PATH

if TYPE_CHECKING:
    from up42keys.integrations.httpauth import Up42Auth

SUPPORTED = ">=3.0, <5"
HOST_NAMES = ("REGION", "endpoint", "user_info_endpoint", "token_endpoint")
USERINFO_PATH = "/realms/public/protocol/openid-connect/userinfo"
SUPPORTED_MAJORS = (3, 4)
INSTALL = "pip install 'up42-py>=3.0,<5'"


def check_version() -> str:
    """The installed up42-py's version, once it proved to be one this module knows."""
    import importlib.metadata

    try:
        version = importlib.metadata.version("up42-py")
    except importlib.metadata.PackageNotFoundError:
        raise Up42KeysError(
            f"up42-py (UP42's SDK) is not installed; install it with {INSTALL}"
        ) from None
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) not in SUPPORTED_MAJORS:
        raise UsageError(
            f"up42keys.sdk supports up42-py {SUPPORTED}, not {version}; install one with {INSTALL}"
        )
    return version


def bind(
    region: str, api_url: str, auth_url: str, make_auth: Callable[[list[str]], Up42Auth]
) -> str:
    """Point the SDK at the profile's hosts, with the auth ``make_auth`` gives; the workspace ID.

    up42-py builds its URLs from ``up42.host.REGION`` alone, so a profile on
    another host (staging, a test server) would have its token sent to
    production: ``up42.host``'s three URL functions are replaced by ones on
    ``api_url`` and ``auth_url``. ``make_auth`` gets the URLs the SDK sends a
    token to (the API and the userinfo endpoint): the auth must cover their
    origins. Nothing changes in the SDK unless all of it worked.
    """
    import requests
    from up42 import base, host
    from up42.http import session as http_session

    previous = {name: getattr(host, name) for name in HOST_NAMES}
    host.REGION = region
    host.endpoint = lambda path: api_url + path
    host.user_info_endpoint = lambda: auth_url + USERINFO_PATH
    host.token_endpoint = lambda: auth_url + TOKEN_PATH
    try:
        auth = make_auth([host.endpoint("/"), host.user_info_endpoint()])
        session = http_session.create(auth)
        workspace_id = _workspace_id(session, host.user_info_endpoint(), requests.RequestException)
    except BaseException:
        for name, value in previous.items():
            setattr(host, name, value)
        raise
    workspace = base.workspace
    workspace._session = session
    workspace._auth = auth
    workspace._id = workspace_id
    return workspace_id


def _workspace_id(session: Any, url: str, request_error: type[Exception]) -> str:
    """The ``sub`` of the userinfo endpoint, which up42-py's authenticate takes as the ID.

    The answer is a server's like any other, so it is read as the client reads one
    (``remote.bodies``: at most 1 MiB on the wire and after one layer of gzip or deflate,
    which is all it asks for) and parsed by the one reader (``inputs``: UTF-8, nested at
    most 32 deep), not by ``requests``' ``.json()``, which has no bound on size or depth.
    """
    from up42keys import inputs
    from up42keys.remote import bodies

    try:
        headers = {"Accept-Encoding": bodies.ACCEPT_ENCODING}
        with session.get(url, headers=headers, stream=True) as response:
            chunks = response.raw.stream(64 * inputs.KIB, decode_content=False)
            content = bodies.read(url, response.headers.get("Content-Encoding", ""), chunks)
        document: Any = inputs.parse_json(inputs.decode(content, "the answer"), "the answer")
        workspace_id = document["sub"]
    except InputError as error:
        raise Up42UnavailableError(
            f"{url} did not give the workspace ID (the answer {error.problem}); "
            f"check the profile with 'up42keys doctor'"
        ) from None
    except (request_error, KeyError, TypeError) as error:
        raise Up42UnavailableError(
            f"{url} did not give the workspace ID ({type(error).__name__}); "
            f"check the profile with 'up42keys doctor'"
        ) from None
    return str(workspace_id)
