"""Canned replies (contract section 8): staff read the tenant's (``GET /canned``, ``chat:write``);
admins manage them (``/admin/canned``, ``admin:tenant``), every change audited.

``{visitor.name}`` and ``{operator.name}`` in a reply's text are placeholders the back office
fills in when an operator uses the reply (the server stores the text as written: it does not
know, at save time, who it will be sent to). docs/integrations.md, "Canned replies".
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from switchboard.admin import audit
from switchboard.auth import sessions
from switchboard.errors import Forbidden, NotFound, ValidationFailed
from switchboard.ids import now_ms, time_ordered_id
from switchboard.models import CannedReply
from switchboard.policy import STAFF_ROLES
from switchboard.runtime import Services

__all__ = ["MAX_PER_TENANT", "change", "create", "list_for_staff", "remove"]

#: a tenant keeps at most this many (the list is one Query, sent whole to every operator)
MAX_PER_TENANT = 500


def list_for_staff(svc: Services, caller: sessions.Caller) -> dict[str, Any]:
    """``GET /canned``: the tenant's replies, ordered by shortcut (what the ``/`` menu shows)."""
    caller.require("chat:write")
    if caller.session.role not in STAFF_ROLES:
        raise Forbidden("canned replies are for staff")
    replies = sorted(svc.store.canned.of_tenant(caller.tenant), key=lambda c: c.shortcut)
    return {"canned": [c.to_json() for c in replies]}


def create(svc: Services, caller: sessions.Caller, *, title: str, text: str, shortcut: str) -> dict[str, Any]:
    caller.require("admin:tenant")
    if len(svc.store.canned.of_tenant(caller.tenant)) >= MAX_PER_TENANT:
        raise ValidationFailed(f"a tenant keeps at most {MAX_PER_TENANT} canned replies")
    now = now_ms()
    c = CannedReply(tenant=caller.tenant, id=time_ordered_id(now), title=title, text=text, shortcut=shortcut,
                    created_at=now, updated_at=now)
    svc.store.canned.create(c)  # Conflict (409) when the shortcut is taken
    _audit(svc, caller, "canned_created", c)
    return {"canned": c.to_json()}


def change(svc: Services, caller: sessions.Caller, canned_id: str, *, title: str | None, text: str | None,
           shortcut: str | None) -> dict[str, Any]:
    caller.require("admin:tenant")
    if title is None and text is None and shortcut is None:
        raise ValidationFailed("nothing to change: give title, text or shortcut")
    old = _get(svc, caller, canned_id)
    new = replace(old, title=title or old.title, text=text or old.text, shortcut=shortcut or old.shortcut,
                  updated_at=max(now_ms(), old.updated_at + 1))
    svc.store.canned.replace(old, new)
    _audit(svc, caller, "canned_changed", new)
    return {"canned": new.to_json()}


def remove(svc: Services, caller: sessions.Caller, canned_id: str) -> dict[str, Any]:
    caller.require("admin:tenant")
    c = _get(svc, caller, canned_id)
    svc.store.canned.delete(c)
    _audit(svc, caller, "canned_removed", c)
    return {"removed": c.id}


def _get(svc: Services, caller: sessions.Caller, canned_id: str) -> CannedReply:
    import re

    # an id no reply can have is not looked up (DynamoDB refuses oversized keys with an error)
    found = svc.store.canned.get(caller.tenant, canned_id) if re.fullmatch(r"[0-9a-f-]{1,64}", canned_id) else None
    if found is None:
        raise NotFound("no such canned reply")
    return found


def _audit(svc: Services, caller: sessions.Caller, kind: str, c: CannedReply) -> None:
    audit.record(svc.store, tenant=caller.tenant, kind=kind, retention_days=svc.settings.audit_retention_days,
                 actor=caller.user_id, subject=c.id, session_id=caller.session.id, shortcut=c.shortcut)
