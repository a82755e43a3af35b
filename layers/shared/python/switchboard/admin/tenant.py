"""A tenant's settings (contract section 9): read, changed by its admins, and its identity and
hook secrets rotated with an overlap.

Which settings take effect today, and which are stored for the features that will read them,
is in docs/architecture.md ("Tenant settings"). Every change is audited with the old and new
values of the fields it changed; secrets never appear there, in an answer (but the one that
creates them) or in a log.

**Secrets are sealed.** A rotated identity or hook secret, and every webhook secret, is stored
sealed under the stack's KMS key (:mod:`switchboard.tokens.sealing`, encryption context
``purpose=tenant-secret``, the tenant and the secret's kind), never in plain form: whoever reads
the table gets ciphertext. The secrets a tenant was seeded with before sealing existed are read
as they are and sealed at their first rotation.

**Concurrent changes.** A change reads the tenant (strongly consistent), applies the fields it
sets and writes the whole tenant back only if its ``version`` is still the one read; if another
change landed meanwhile, it reads again and applies its fields to that (a PATCH names the fields
it sets, so applying it again loses nobody's change); after 5 lost races, 503 ``unavailable``
(the contract's codes have no conflict), as the operators' changes do.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from msgspec.structs import replace

from switchboard.admin import audit
from switchboard.auth.sessions import Caller
from switchboard.errors import NotFound, Unavailable, ValidationFailed
from switchboard.models import Tenant
from switchboard.runtime import Services
from switchboard.tokens.sealing import tenant_secret_context

__all__ = ["DEFAULT_GRACE_SECONDS", "SECRET_KINDS", "change_settings", "rotate_secret", "settings_of", "view"]

DEFAULT_GRACE_SECONDS = 86400
#: the secrets ``POST /admin/tenant/<kind>-secret`` rotates
SECRET_KINDS = ("identity", "hook")
#: previous secrets kept at once (a rotation within another's grace keeps both until theirs end)
MAX_PREVIOUS = 3
_WRITE_ATTEMPTS = 5
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def settings_of(t: Tenant) -> dict[str, Any]:
    """The settings as ``GET /admin/tenant`` answers them: never a secret (a webhook's is
    write-only), and ``previous_secrets_until`` says until when each rotated-out secret works."""
    w = t.widget_settings()
    return {
        "name": t.name,
        "widget": {k: w[k] for k in ("title", "color", "greeting", "position")},
        "allowed_origins": list(t.allowed_origins),
        "visitor_attachments": t.visitor_attachments,
        "verified_visitors_only": t.verified_visitors_only,
        "hours": t.hours,
        "away_message": t.away_message,
        "email_when_offline": t.email_when_offline,
        "prechat": [dict(f) for f in t.prechat],
        "message_retention_days": t.message_retention_days,
        "webhooks": [{"id": h["id"], "url": h["url"], "events": list(h["events"])} for h in t.webhooks],
        "previous_secrets_until": {
            "identity": sorted(u for _, u in t.previous_identity_secrets if u > int(time.time())),
            "hook": sorted(u for _, u in t.previous_hook_secrets if u > int(time.time())),
        },
        "version": t.version,
        "locales": list(t.locales),
    }


def view(svc: Services, caller: Caller) -> dict[str, Any]:
    """``GET /admin/tenant``: read strongly consistent (an admin sees their own change at once)."""
    caller.require("admin:tenant")
    return settings_of(_read(svc, caller.tenant))


def change_settings(svc: Services, caller: Caller, changes: Mapping[str, Any]) -> dict[str, Any]:
    """``PATCH /admin/tenant``: apply ``changes`` (field -> new value, plain JSON values as the
    request model decoded them; ``widget`` partial), audited as ``tenant_changed`` with each
    changed field's old and new value. Answers the settings as stored."""
    caller.require("admin:tenant")
    if not changes:
        raise ValidationFailed("nothing to change")
    _check(svc, changes)
    for _ in range(_WRITE_ATTEMPTS):
        read = _read(svc, caller.tenant)
        new = _apply(svc, read, changes)
        if svc.store.tenants.replace(new, read_version=read.version):
            break
    else:
        raise Unavailable("the settings kept changing meanwhile: try again")
    svc.tenants.forget(caller.tenant)  # this container at once; the others within the cache's TTL
    before, after = settings_of(read), settings_of(new)
    diff = {k: {"old": before[k], "new": after[k]} for k in changes if before[k] != after[k]}
    if "webhooks" in changes and _secret_ids(read) != _secret_ids(new):
        diff.setdefault("webhooks", {"old": before["webhooks"], "new": after["webhooks"]})["secrets_changed"] = True
    audit.record(svc.store, tenant=caller.tenant, kind="tenant_changed", actor=caller.user_id,
                 retention_days=svc.settings.audit_retention_days, changes=diff)
    return after


def rotate_secret(svc: Services, caller: Caller, kind: str, *, grace_seconds: int = DEFAULT_GRACE_SECONDS,
                  now: int | None = None) -> dict[str, str]:
    """``POST /admin/tenant/identity-secret`` or ``/hook-secret``: a new random secret (256
    bits), answered this once and stored sealed; the one it replaces keeps verifying for
    ``grace_seconds`` (so the website or the Auth0 Action can be updated meanwhile), then
    stops. Audited as ``secret_rotated`` (the kind and the grace, never a secret)."""
    caller.require("admin:tenant")
    if kind not in SECRET_KINDS:
        raise NotFound("no such secret")
    now = int(now if now is not None else time.time())
    plain = "sk_" + secrets.token_urlsafe(32)
    sealed = svc.sealer.seal(plain, context=tenant_secret_context(caller.tenant, kind))
    for _ in range(_WRITE_ATTEMPTS):
        read = _read(svc, caller.tenant)
        current, previous = ((read.identity_secret, read.previous_identity_secrets) if kind == "identity"
                             else (read.hook_secret, read.previous_hook_secrets))
        kept = [(s, until) for s, until in previous if until > now]
        if current and grace_seconds > 0:
            kept.insert(0, (current, now + grace_seconds))
        fields: dict[str, Any] = ({"identity_secret": sealed, "previous_identity_secrets": tuple(kept[:MAX_PREVIOUS])}
                                  if kind == "identity" else
                                  {"hook_secret": sealed, "previous_hook_secrets": tuple(kept[:MAX_PREVIOUS])})
        if svc.store.tenants.replace(replace(read, version=read.version + 1, **fields), read_version=read.version):
            break
    else:
        raise Unavailable("the settings kept changing meanwhile: try again")
    svc.tenants.forget(caller.tenant)
    audit.record(svc.store, tenant=caller.tenant, kind="secret_rotated", actor=caller.user_id,
                 retention_days=svc.settings.audit_retention_days, secret=kind, grace_seconds=grace_seconds)
    return {"secret": plain}


# -- internals -----------------------------------------------------------------------------------------
def _read(svc: Services, tenant_id: str) -> Tenant:
    tenant = svc.store.tenants.get(tenant_id, consistent=True)
    if tenant is None:
        raise NotFound("no such tenant")
    return tenant


def _secret_ids(t: Tenant) -> dict[str, str]:
    return {h["id"]: h.get("secret", "") for h in t.webhooks}


def _check(svc: Services, changes: Mapping[str, Any]) -> None:
    """What the request model cannot say: cross-field rules and checks against the world (a
    real time zone, https outside the local stack). Each failure is a 400 naming the field."""
    plain_http = svc.settings.allow_http_urls
    for origin in changes.get("allowed_origins") or ():
        host = origin.split("://", 1)[1].split(":", 1)[0]
        if origin.startswith("http://") and not plain_http and host not in ("localhost", "127.0.0.1"):
            raise ValidationFailed("allowed_origins: only https origins (http only for localhost)")
    hours = changes.get("hours")
    if hours:
        from datetime import date

        from switchboard.chat.hours import real_zone

        # the same check as a visitor's context.time_zone: no localtime, posixrules, Factory
        if not real_zone(hours["time_zone"]):
            raise ValidationFailed("hours.time_zone: not a time zone of the IANA database")
        for span in hours["weekly"]:
            if span["from"] >= span["to"]:
                raise ValidationFailed(f"hours.weekly: {span['day']} ends before it starts")
        for day in hours.get("holidays") or ():
            try:  # the model's pattern lets 2026-02-30 through; the calendar does not
                date.fromisoformat(day)
            except ValueError as exc:
                raise ValidationFailed(f"hours.holidays: {day} is not a date") from exc
        if hours.get("holidays") and not hours["weekly"]:
            # no weekly span means no hours are set (docs/web.md): holidays would close nothing
            raise ValidationFailed("hours.holidays: holidays need weekly hours (none means always open)")
    locales = changes.get("locales") or ()
    if len(set(locales)) != len(locales):
        raise ValidationFailed("locales: a language is named twice")
    prechat = changes.get("prechat") or ()
    if len({f["id"] for f in prechat}) != len(prechat):
        raise ValidationFailed("prechat: two fields have the same id")
    for f in prechat:
        if (f["kind"] == "select") != bool(f.get("options")):
            raise ValidationFailed(f"prechat.{f['id']}: options are for a select, and a select needs them")
    hooks = changes.get("webhooks") or ()
    ids = [h["id"] for h in hooks if h.get("id")]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("webhooks: two webhooks have the same id")
    for h in hooks:
        if not h["url"].startswith("https://") and not plain_http:
            raise ValidationFailed("webhooks.url: https only")
        if len(set(h["events"])) != len(h["events"]):
            raise ValidationFailed("webhooks.events: an event is named twice")
        # SSRF: no webhook to an address inside a network (checked again at every attempt)
        from switchboard.events.webhooks import check_saved

        check_saved(h["url"], allow_http=plain_http)


def _apply(svc: Services, t: Tenant, changes: Mapping[str, Any]) -> Tenant:
    fields: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "widget":
            fields["widget"] = {**t.widget, **value}
        elif name == "allowed_origins":
            fields[name] = tuple(dict.fromkeys(o.rstrip("/") for o in value))
        elif name == "prechat":
            fields[name] = tuple({k: v for k, v in f.items() if v is not None} for f in value)
        elif name == "hours":
            fields[name] = None if value is None else {
                "time_zone": value["time_zone"],
                "weekly": sorted(value["weekly"], key=lambda s: (_DAYS.index(s["day"]), s["from"])),
                "holidays": sorted(set(value.get("holidays") or ())),
            }
        elif name == "webhooks":
            fields[name] = tuple(_webhook(svc, t, h) for h in value)
        elif name == "locales":
            fields[name] = tuple(dict.fromkeys(value or ()))  # the order is the tenant's preference
        else:
            fields[name] = value
    return replace(t, version=t.version + 1, **fields)


def _webhook(svc: Services, t: Tenant, h: Mapping[str, Any]) -> dict[str, Any]:
    """A webhook as stored: its secret sealed; one already configured keeps its secret unless
    the change brings a new one; a new one must bring its own."""
    known = {w["id"]: w for w in t.webhooks}
    hook_id = h.get("id") or "wh_" + secrets.token_hex(6)
    if h.get("secret"):
        sealed = svc.sealer.seal(h["secret"], context=tenant_secret_context(t.id, f"webhook:{hook_id}"))
    elif hook_id in known:
        sealed = known[hook_id]["secret"]
    else:
        raise ValidationFailed("webhooks.secret: a new webhook needs its secret")
    return {"id": hook_id, "url": h["url"], "events": list(dict.fromkeys(h["events"])), "secret": sealed}
