"""`switchboard seed FILE --api URL` and `switchboard admin ...`: a deployed stack administered
through its HTTP API with the session `switchboard login` kept (no AWS credentials).

The HTTP seed applies what the admin API can set, for the signed-in admin's tenant only:
``PATCH /admin/tenant`` for the settings, ``POST /admin/operators`` for each operator not there
yet (with the seed's password), ``PATCH /admin/operators/{id}`` when an existing one's role or
name differs. What only the table and Secrets Manager can hold is not sent, and the command says
so: the tenant's identity and hook secrets (the API mints secrets itself: ``switchboard admin
rotate-secret``), TOTP secrets (a person enrols their own), other operators' passwords once set,
and identity providers and trusted issuers (their client secrets go to Secrets Manager: use
``switchboard seed FILE --stack NAME`` with AWS credentials for those).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from switchboard_local.seed import Seed, SeedTenant
from switchboard_local.session import ApiSession, NotSignedIn

__all__ = ["add_admin_parser", "run_admin", "seed_over_api"]

#: --no-max-chats: sent as JSON null (argparse would read a plain None as "not given")
_CLEAR = object()


class CommandFailed(Exception):
    """The API refused a step: its status and problem, no token. ``done`` holds the lines of
    the steps applied before it (a seed is several requests: the user must know which landed)."""

    def __init__(self, message: str, done: list[str] | None = None) -> None:
        super().__init__(message)
        self.done = done or []


def _ok(session: ApiSession, method: str, path: str, body: Any = None) -> dict[str, Any]:
    status, answer = session.request(method, path, body)
    if status >= 300:
        detail = answer.get("detail") if isinstance(answer, dict) else str(answer)[:200]
        code = answer.get("code") if isinstance(answer, dict) else ""
        raise CommandFailed(f"{method} {path}: {status} {code} {detail}".rstrip())
    if not isinstance(answer, dict):  # a proxy's page, not the API's JSON
        raise CommandFailed(f"{method} {path}: {status} but not the API's JSON answer")
    return answer


def _segment(value: str) -> str:
    """A path segment, escaped: an id like ``../tenant`` must not reach another route."""
    from urllib.parse import quote

    return quote(value, safe="")


#: what the API takes for a new password (``NewPassword``: 10-1024 characters)
MIN_PASSWORD = 10


def _settings_of(t: SeedTenant) -> dict[str, Any]:
    """The seed's tenant fields ``PATCH /admin/tenant`` takes."""
    change: dict[str, Any] = {"name": t.name, "allowed_origins": [o.rstrip("/") for o in t.allowed_origins],
                              "visitor_attachments": t.visitor_attachments}
    widget = {k: v for k, v in t.widget.items() if k in ("title", "color", "greeting", "position")}
    if widget:
        change["widget"] = widget
    return change


def seed_over_api(session: ApiSession, seed: Seed) -> list[str]:
    """Apply ``seed`` through the admin API; returns the lines to print (no secret in any).
    Everything that can be checked before the first request is: a step refused half-way
    raises :class:`CommandFailed` with the lines of the steps already applied."""
    tenant = session.tenant
    others = [t.id for t in seed.tenants if t.id != tenant]
    if others:
        raise CommandFailed(f"the session is an admin of tenant {tenant!r}; the seed also names {others}: "
                            "an admin changes only their own tenant (seed the others with --stack)")
    short = [o.email for t in seed.tenants for o in t.operators if len(o.password) < MIN_PASSWORD]
    if short:
        raise CommandFailed(f"the API takes passwords of {MIN_PASSWORD} characters or more: {short}")
    listed = _ok(session, "GET", "/admin/operators")["operators"]  # a read: nothing changed yet
    me = next((str(o["email"]) for o in listed if o.get("id") == session.user.get("id")), None)
    if any(o.email.lower() == me and o.role != "admin" for t in seed.tenants for o in t.operators):
        raise CommandFailed(f"the seed would make the signed-in admin ({me}) an operator: refused")
    lines: list[str] = []
    try:
        for t in seed.tenants:
            _seed_tenant(session, t, {str(o["email"]): o for o in listed}, lines)
    except CommandFailed as failed:
        raise CommandFailed(str(failed), lines) from None
    return lines


def _seed_tenant(session: ApiSession, t: SeedTenant, existing: dict[str, dict[str, Any]], lines: list[str]) -> None:
    settings = _settings_of(t)
    _ok(session, "PATCH", "/admin/tenant", settings)
    lines.append(f"tenant {t.id}: settings applied ({', '.join(sorted(settings))})")
    dropped = sorted(set(t.widget) - {"title", "color", "greeting", "position"})
    if dropped:
        lines.append(f"not sent: widget fields {dropped} (the widget takes title, color, greeting, position)")
    for o in t.operators:
        name = o.name or o.email.split("@")[0]
        have = existing.get(o.email.lower())
        if have is None:
            made = _ok(session, "POST", "/admin/operators",
                       {"email": o.email, "name": name, "role": o.role, "password": o.password})["operator"]
            lines.append(f"seeded {made['role']} {made['email']} (tenant {t.id}, id {made['id']})")
        else:
            change = {k: v for k, v in (("role", o.role), ("name", name)) if have.get(k) != v}
            if change:
                _ok(session, "PATCH", f"/admin/operators/{_segment(have['id'])}", change)
            lines.append(f"kept {o.role} {have['email']} (tenant {t.id}, id {have['id']})"
                         + (f": changed {', '.join(sorted(change))}" if change else "")
                         + "; an existing person's password is never sent")
        if o.totp_secret:
            lines.append(f"not sent: {o.email}'s totp_secret (each person enrols their own authenticator)")
    lines.append(f"not sent: tenant {t.id}'s identity_secret and hook_secret (the API makes secrets: "
                 "`switchboard admin rotate-secret identity|hook`)")
    if t.identity_providers or t.trusted_issuers or t.claims or t.deny_email_domains:
        lines.append(f"not sent: tenant {t.id}'s identity_providers, trusted_issuers, claims and "
                     "deny_email_domains (only `switchboard seed FILE --stack NAME`, with AWS credentials, "
                     "writes them)")


# -- switchboard admin ------------------------------------------------------------------------
def add_admin_parser(sub: Any) -> None:
    admin = sub.add_parser("admin", help="administer a deployed stack through its HTTP API with the session "
                                         "`switchboard login` kept")
    admin.add_argument("--api", help="the stack's HTTP API URL (default: the only one signed in to)")
    admin.add_argument("--credentials", type=Path, help="the session file (default: login's)")
    cmd = admin.add_subparsers(dest="admin_command", required=True)
    cmd.add_parser("whoami", help="the signed-in admin and session")
    cmd.add_parser("operators", help="list the tenant's operators and admins")
    inv = cmd.add_parser("invite", help="invite an operator (prints the one-time invitation token)")
    inv.add_argument("email")
    inv.add_argument("--name", required=True)
    inv.add_argument("--role", choices=["operator", "admin"], default="operator")
    chg = cmd.add_parser("set-operator",
                         help="change an operator's role, name or most chats at once; block or unblock them")
    chg.add_argument("id")
    chg.add_argument("--role", choices=["operator", "admin"])
    chg.add_argument("--name")
    chg.add_argument("--block", dest="blocked", action="store_const", const=True)
    chg.add_argument("--unblock", dest="blocked", action="store_const", const=False)
    cap = chg.add_mutually_exclusive_group()
    cap.add_argument("--max-chats", type=int, metavar="N", help="the most open chats they are given (1-50)")
    cap.add_argument("--no-max-chats", dest="max_chats", action="store_const", const=_CLEAR,
                     help="no limit (the default)")
    rm = cmd.add_parser("remove-operator", help="remove an operator (their sessions end)")
    rm.add_argument("id")
    cmd.add_parser("tenant", help="the tenant's settings (never a secret)")
    st = cmd.add_parser("set", help="change tenant settings: FIELD=JSON ... (PATCH /admin/tenant)")
    st.add_argument("changes", nargs="+", metavar="FIELD=JSON")
    rot = cmd.add_parser("rotate-secret", help="a new identity or hook secret (printed once; the old one keeps "
                                               "working for the grace)")
    rot.add_argument("kind", choices=["identity", "hook"])
    rot.add_argument("--grace-seconds", type=int)
    cmd.add_parser("events", help="the tenant's audit events, newest first")


def run_admin(args: argparse.Namespace) -> int:
    try:
        session = ApiSession(args.api, args.credentials)
        answer = _admin(session, args)
    except (NotSignedIn, CommandFailed) as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 1
    except (KeyError, TypeError, ValueError) as exc:  # an answer not shaped as the contract says
        print(f"switchboard: unexpected answer from the API ({exc.__class__.__name__})", file=sys.stderr)
        return 1
    if isinstance(answer, str):
        print(answer)
    else:
        print(json.dumps(answer, indent=2, sort_keys=True))
    return 0


def _admin(session: ApiSession, args: argparse.Namespace) -> Any:
    c = args.admin_command
    if c == "whoami":
        return _ok(session, "GET", "/auth/me")
    if c == "operators":
        ops = _ok(session, "GET", "/admin/operators")["operators"]
        return "\n".join(f"{o['id']}  {o['role']:<8} {'blocked ' if o.get('blocked') else ''}{o['email']}  "
                         f"{o['name']}" for o in ops) or "(none)"
    if c == "invite":
        return _ok(session, "POST", "/admin/operators", {"email": args.email, "name": args.name, "role": args.role})
    if c == "set-operator":
        change = {k: v for k, v in (("role", args.role), ("name", args.name), ("blocked", args.blocked),
                                    ("max_chats", args.max_chats)) if v is not None}
        if change.get("max_chats") is _CLEAR:
            change["max_chats"] = None  # JSON null: the cap cleared
        if not change:
            raise CommandFailed("say what to change: --role, --name, --max-chats, --no-max-chats, --block or --unblock")
        return _ok(session, "PATCH", f"/admin/operators/{_segment(args.id)}", change)
    if c == "remove-operator":
        return _ok(session, "DELETE", f"/admin/operators/{_segment(args.id)}")
    if c == "tenant":
        return _ok(session, "GET", "/admin/tenant")
    if c == "set":
        settings: dict[str, Any] = {}
        for pair in args.changes:
            name, sep, text = pair.partition("=")
            if not sep or not name:
                raise CommandFailed(f"{pair!r}: write FIELD=JSON, e.g. away_message='\"Back at 9\"'")
            try:
                settings[name] = json.loads(text)
            except ValueError:
                settings[name] = text  # a bare word is a string: name=Acme
        return _ok(session, "PATCH", "/admin/tenant", settings)
    if c == "rotate-secret":
        body = {} if args.grace_seconds is None else {"grace_seconds": args.grace_seconds}
        return _ok(session, "POST", f"/admin/tenant/{args.kind}-secret", body)
    return _ok(session, "GET", "/admin/events")
