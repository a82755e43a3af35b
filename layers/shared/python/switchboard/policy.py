"""Roles, levels and the scopes each role is granted (contract section 1).

Scopes are the unit of revocation, so every permission check in the product asks
"does the caller hold scope X *now*", never "is the caller's role Y".
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ALL_SCOPES", "HANDLES_CHATS", "STAFF_ROLES", "Role", "default_scopes", "level_of"]


class Role(StrEnum):
    VISITOR = "visitor"
    OPERATOR = "operator"
    ADMIN = "admin"


VISITOR_SCOPES = ("chat:read", "chat:write")
OPERATOR_SCOPES = ("chat:read", "chat:write", "chat:attach", "chat:assign", "team:chat")
ADMIN_SCOPES = (*OPERATOR_SCOPES, "chat:moderate", "admin:operators", "admin:sessions", "admin:tenant")
ALL_SCOPES = frozenset(ADMIN_SCOPES)
STAFF_ROLES = frozenset({"operator", "admin"})  # who is assigned support channels
#: what a staff connection needs to count as present (assignable, told of the queue): a
#: conversation given to someone who may not read or write it would be stranded
HANDLES_CHATS = frozenset({"chat:read", "chat:write"})


def level_of(role: Role, *, anonymous: bool = False) -> int:
    """0 anonymous visitor, 1 known visitor, 2 operator, 3 admin."""
    if role is Role.VISITOR:
        return 0 if anonymous else 1
    return 2 if role is Role.OPERATOR else 3


def default_scopes(role: Role, *, anonymous: bool = False, visitor_attachments: bool = False) -> tuple[str, ...]:
    """The scopes a fresh session of this role gets, in a stable order."""
    if role is Role.ADMIN:
        return ADMIN_SCOPES
    if role is Role.OPERATOR:
        return OPERATOR_SCOPES
    if visitor_attachments and not anonymous:
        return (*VISITOR_SCOPES, "chat:attach")
    return VISITOR_SCOPES
