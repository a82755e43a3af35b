"""The session `switchboard login` keeps, used by `switchboard seed --api` and `switchboard admin`.

The credentials file (``~/.config/switchboard/credentials.json``, mode 0600) maps each API URL to
the session an admin approved for the CLI: an access token, the refresh token and the user. A
command sends the access token; when it is about to expire (or the API answers 401) the session
is refreshed once through ``POST /auth/refresh`` and the rotated pair written back.

Refresh tokens rotate with reuse detection (contract section 2): two CLI processes refreshing the
same token at once would look like a stolen token, and the API would end the whole session. So
the refresh happens under an exclusive ``flock`` on the file, and a process that waited re-reads
the file first: when another process already rotated the pair it uses that pair instead.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

__all__ = ["ApiSession", "NotSignedIn", "default_credentials", "plain_http_allowed", "save_session",
           "unverified_claims"]

#: seconds a request may take (connect, read): a deployed API answers in well under this
TIMEOUT = (5, 30)
#: refresh this long before the access token's ``exp``, so it does not expire on the way
EXPIRY_MARGIN = 30
USER_AGENT = "switchboard CLI"


#: refresh answers that mean the session is over (anything else leaves the kept pair for a retry)
ENDED = frozenset({"invalid_token", "token_reused", "session_revoked"})


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


class NotSignedIn(Exception):
    """No usable session for that API: the message says what to run."""


def default_credentials() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "switchboard" / "credentials.json"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside the credentials file (its own file: the credentials are replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read(path: Path) -> dict[str, Any]:
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise NotSignedIn(f"{path} could not be read ({exc.__class__.__name__}): sign in again with "
                          "`switchboard login --api URL`") from None
    return saved if isinstance(saved, dict) else {}


def _write(path: Path, saved: dict[str, Any]) -> None:
    """Replace the file atomically, 0600 (it holds a refresh token): a fresh temporary file
    made by ``mkstemp`` (``O_EXCL``, 0600, an unpredictable name: no symlink planted beside
    the file can redirect the tokens), synced, then renamed over the file; removed on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(saved, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_session(path: Path, api: str, tokens: dict[str, Any]) -> None:
    """Keep ``tokens`` (a token response) as the session for ``api``."""
    with _locked(path):
        saved = _read(path)
        saved[api] = {"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
                      "user": tokens["user"]}
        _write(path, saved)


def unverified_claims(access_token: str) -> dict[str, Any]:
    """The token's claims, read WITHOUT verifying: only for the CLI's own bookkeeping (when to
    refresh, which tenant the session is for). The API verifies every token it is sent."""
    try:
        payload = access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def plain_http_allowed(api: str) -> bool:
    """Tokens and passwords cross the network only over https; plain http is for the local
    stack on this machine (loopback)."""
    from urllib.parse import urlsplit

    parts = urlsplit(api)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _expires_at(access_token: str) -> int:
    try:
        return int(unverified_claims(access_token).get("exp") or 0)
    except (TypeError, ValueError):
        return 0


class ApiSession:
    """Requests to one API as the signed-in admin."""

    def __init__(self, api: str | None, credentials: Path | None = None, *, http: Any = None) -> None:
        self.path = credentials or default_credentials()
        saved = _read(self.path)
        if api is None:
            if len(saved) != 1:
                raise NotSignedIn("name the API with --api URL" if saved else
                                  "not signed in: run `switchboard login --api URL` first")
            api = next(iter(saved))
        self.api = api.rstrip("/")
        if not plain_http_allowed(self.api) and not self.api.startswith("https://"):
            raise NotSignedIn(f"--api wants the stack's https URL (plain http only on this machine), not {api!r}")
        if self.api not in saved:
            raise NotSignedIn(f"not signed in to {self.api}: run `switchboard login --api {self.api}` first")
        self._http = http or requests.Session()
        self._http.headers["user-agent"] = USER_AGENT

    @property
    def user(self) -> dict[str, Any]:
        return dict(_read(self.path).get(self.api, {}).get("user") or {})

    @property
    def tenant(self) -> str:
        """The signed-in admin's tenant (the kept access token's ``tid``)."""
        kept = _read(self.path).get(self.api) or {}
        tid = unverified_claims(str(kept.get("access_token") or "")).get("tid")
        if not isinstance(tid, str) or not tid:
            raise NotSignedIn("the kept session is not readable: sign in again with `switchboard login`")
        return tid

    def request(self, method: str, path: str, body: Any = None, *,
                params: dict[str, str] | None = None) -> tuple[int, Any]:
        """``(status, parsed body)``; refreshes the session once when needed."""
        token = self._access_token()
        status, answer = self._send(method, path, body, params, token)
        if status == 401:
            token = self._refresh(stale=token)
            status, answer = self._send(method, path, body, params, token)
        return status, answer

    def _send(self, method: str, path: str, body: Any, params: dict[str, str] | None,
              token: str) -> tuple[int, Any]:
        try:
            r = self._http.request(method, f"{self.api}{path}", json=body, params=params, timeout=TIMEOUT,
                                   headers={"authorization": f"Bearer {token}"}, allow_redirects=False)
        except requests.RequestException as exc:
            raise NotSignedIn(f"cannot reach {self.api}: {exc.__class__.__name__}") from None
        try:
            return r.status_code, r.json() if r.content else None
        except ValueError:
            return r.status_code, r.text

    def _access_token(self) -> str:
        kept = _read(self.path).get(self.api) or {}
        token = str(kept.get("access_token") or "")
        if _expires_at(token) - EXPIRY_MARGIN <= time.time():
            token = self._refresh(stale=token)
        return token

    def _refresh(self, *, stale: str) -> str:
        with _locked(self.path):
            saved = _read(self.path)
            kept = saved.get(self.api)
            if not kept:
                raise NotSignedIn(f"not signed in to {self.api}: run `switchboard login --api {self.api}`")
            if kept.get("access_token") != stale and _expires_at(kept["access_token"]) - EXPIRY_MARGIN > time.time():
                return str(kept["access_token"])  # another process rotated the pair while this one waited
            # Ctrl-C between the server's rotation and the write would leave the old refresh
            # token in the file, and its next use would end the session as stolen: held off
            # until the new pair is written
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
            try:
                return self._rotate(saved, kept)
            finally:
                if previous is not None:
                    signal.signal(signal.SIGINT, previous)

    def _rotate(self, saved: dict[str, Any], kept: dict[str, Any]) -> str:
        try:
            r = self._http.post(f"{self.api}/auth/refresh", json={"refresh_token": kept["refresh_token"]},
                                timeout=TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            raise NotSignedIn(f"cannot reach {self.api} to refresh the session ({exc.__class__.__name__}); if "
                              "this keeps happening, sign in again with `switchboard login`") from None
        try:
            answer = r.json()
        except ValueError:
            answer = None
        code = answer.get("code") if isinstance(answer, dict) else None
        if r.status_code == 401 and code in ENDED:
            # the session ended (signed out, revoked, expired, or its refresh token reused)
            del saved[self.api]
            _write(self.path, saved)
            raise NotSignedIn(f"the session ended ({code}): sign in again with `switchboard login --api {self.api}`")
        if r.status_code != 200 or not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str) \
                or not isinstance(answer.get("refresh_token"), str):
            # a rate limit, an outage, a proxy's page: the kept pair is still good for a retry
            wait = r.headers.get("retry-after")
            raise NotSignedIn(f"the session could not be refreshed now ({r.status_code} {code or ''}".rstrip()
                              + (f"; retry after {wait} s" if wait else "; try again") + ")")
        saved[self.api] = {"access_token": answer["access_token"], "refresh_token": answer["refresh_token"],
                           "user": answer.get("user") or kept.get("user")}
        _write(self.path, saved)
        return str(answer["access_token"])
