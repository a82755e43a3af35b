"""Linked identities of staff records, and the short-lived records of an SSO sign-in.

Keys: ``T#<tid>`` / ``IDP#<kind>#<sha256(subject)>`` (an identity's pointer to its person);
the identity itself is an entry of the operator item's ``identities`` map (so reading the
person reads their ways in); ``OIDC#<hash>`` / ``STATE`` and ``CODE`` (see
:mod:`switchboard.store.keys`).

Every write that links is one transaction whose pointer Put is conditional
(``attribute_not_exists``): two first sign-ins of one person at once cannot link twice or make
two records - the second transaction fails (:class:`Conflict`) and its caller reads again.
"""

from __future__ import annotations

from typing import Any

from switchboard.errors import Conflict, Unavailable
from switchboard.models import Identity, Operator
from switchboard.store import codecs, keys
from switchboard.store.dynamo import UNAVAILABLE, Cancelled, Table

__all__ = ["Identities"]


class Identities:
    """Staff members' outside ways in (OIDC, Cognito, Auth0), SSO states and one-time codes."""

    def __init__(self, table: Table) -> None:
        self._table = table

    # -- identities -------------------------------------------------------------------------------
    def find(self, tenant_id: str, kind: str, subject: str) -> str | None:
        """The person (operator id) this identity is linked to: one consistent GetItem."""
        raw = self._table.get(keys.tenant_pk(tenant_id), keys.identity_sk(kind, subject), consistent=True)
        return str(raw["user_id"]) if raw else None

    def _pointer(self, tenant_id: str, user_id: str, identity: Identity) -> dict[str, Any]:
        return self._table.put_item({"pk": keys.tenant_pk(tenant_id), "sk": keys.identity_sk(identity.kind_name,
                                                                                             identity.subject),
                                     "user_id": user_id, "identity_id": identity.id},
                                    condition="attribute_not_exists(pk)")

    def link(self, op: Operator, identity: Identity) -> None:
        """Link ``identity`` to the operator as read (not blocked): the pointer and the map
        entry in one transaction. :class:`Conflict` if the identity is linked already (to
        anyone) or the operator changed (removed, blocked) meanwhile."""
        pk, sk = keys.tenant_pk(op.tenant), keys.operator_sk(op.id)
        value = codecs.identity_value(identity)
        if op.identities is None:  # an item from before identities: the map is written whole
            update = self._table.update_item(pk, sk, "SET identities = :m", {":m": {identity.id: value}, ":no": False},
                                             condition="attribute_exists(pk) AND blocked = :no AND "
                                                       "attribute_not_exists(identities)")
        else:
            update = self._table.update_item(pk, sk, "SET identities.#i = :v", {":v": value, ":no": False},
                                             condition="attribute_exists(pk) AND blocked = :no AND "
                                                       "attribute_exists(identities)", names={"#i": identity.id})
        self._transact([self._pointer(op.tenant, op.id, identity), update])

    def create_with(self, op: Operator, identity: Identity) -> None:
        """A new operator made by its first sign-in (a domain the provider admits), with its
        email pointer and the identity's pointer: all three conditional, one transaction."""
        self._transact([
            self._table.put_item(codecs.operator_item(op), condition="attribute_not_exists(pk)"),
            self._table.put_item(codecs.email_item(op), condition="attribute_not_exists(pk)"),
            self._pointer(op.tenant, op.id, identity),
        ])

    def unlink(self, op: Operator, identity_id: str) -> None:
        """Remove one way in - never the last one, whatever ran meanwhile: the condition counts
        the ways in of the item as stored (the password hash, the map's entries).
        :class:`Conflict` if it is the last one, or gone already."""
        pk, sk = keys.tenant_pk(op.tenant), keys.operator_sk(op.id)
        if identity_id == "password":
            self._transact([self._table.update_item(
                pk, sk, "REMOVE password_hash", {":zero": 0},
                condition="attribute_exists(password_hash) AND size(identities) > :zero")])
            return
        identity = op.linked[identity_id]
        self._transact([
            self._table.update_item(pk, sk, "REMOVE identities.#i", {":one": 1},
                                    condition="attribute_exists(identities.#i) AND "
                                              "(attribute_exists(password_hash) OR size(identities) > :one)",
                                    names={"#i": identity_id}),
            self._table.delete_item(pk, keys.identity_sk(identity.kind_name, identity.subject)),
        ])

    def pointers_of(self, op: Operator) -> list[dict[str, Any]]:
        """Transaction items deleting the operator's identity pointers (its removal)."""
        return [self._table.delete_item(keys.tenant_pk(op.tenant), keys.identity_sk(i.kind_name, i.subject))
                for i in op.linked.values()]

    def _transact(self, items: list[Any]) -> None:
        try:
            self._table.write_transaction(items)
        except Cancelled as exc:
            if exc.conditional:
                raise Conflict("the identity or the person changed meanwhile") from exc
            raise Unavailable(UNAVAILABLE) from exc

    # -- SSO sign-in states and one-time codes ----------------------------------------------------
    def put_state(self, digest: str, record: dict[str, Any], *, expires_at: int) -> None:
        """An SSO sign-in started: what its callback needs (tenant, provider, nonce, PKCE
        verifier, return_to, the browser binding's hash), under the state's hash."""
        self._table.put({"pk": keys.sso_pk(digest), "sk": keys.SSO_STATE, **record, "expires_at": expires_at,
                         "ttl": expires_at})

    def take_state(self, digest: str, *, now: int) -> dict[str, Any] | None:
        """The state's record, deleted as it is read: a state is good once, and only unexpired."""
        return self._table.take(keys.sso_pk(digest), keys.SSO_STATE, condition="expires_at > :now",
                                values={":now": now})

    def put_code(self, digest: str, record: dict[str, Any], *, expires_at: int) -> None:
        """A one-time code the browser swaps for tokens (``POST /auth/oidc/complete``)."""
        self._table.put({"pk": keys.sso_pk(digest), "sk": keys.SSO_CODE, **record, "expires_at": expires_at,
                         "ttl": expires_at})

    def take_code(self, digest: str, *, now: int) -> dict[str, Any] | None:
        """The code's record, deleted as it is read: once, and only within its 60 seconds."""
        return self._table.take(keys.sso_pk(digest), keys.SSO_CODE, condition="expires_at > :now",
                                values={":now": now})
