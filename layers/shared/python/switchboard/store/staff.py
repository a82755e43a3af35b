"""Tenants and their staff: operators, their email pointers, invitations and second factor
(TOTP state on the operator item, MFA challenges under the user's partition).

Keys: ``T#<tid>`` / ``TENANT``, ``OP#<uid>``, ``EMAIL#<email>``, ``INV#<uid>``;
``U#<tid>#<uid>`` / ``MFA#<id>`` (see :mod:`switchboard.store.keys`).
"""

from __future__ import annotations

from typing import Any

from switchboard.errors import Conflict, StandingChanged, Unavailable
from switchboard.models import Operator, Tenant
from switchboard.store import codecs, keys
from switchboard.store.dynamo import UNAVAILABLE, Cancelled, Table

__all__ = ["Staff", "Tenants", "active_admin_check"]


class Tenants:
    """``T#<tid>`` / ``TENANT``: read at every sign-in (cached by runtime.TenantDirectory)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, tenant_id: str, *, consistent: bool = False) -> Tenant | None:
        raw = self._table.get(keys.tenant_pk(tenant_id), keys.TENANT, consistent=consistent)
        return codecs.tenant(raw) if raw else None

    def put(self, tenant: Tenant) -> None:
        """Upsert (seeding)."""
        self._table.put(codecs.tenant_item(tenant))

    def replace(self, tenant: Tenant, *, read_version: int) -> bool:
        """Write ``tenant`` (its ``version`` one past ``read_version``) only if the stored
        tenant is still at ``read_version``: two admins' changes made at once cannot overwrite
        each other (False: read again, apply again). A tenant stored before versions existed
        is at version 0."""
        condition = "attribute_exists(pk) AND " + (
            "(attribute_not_exists(version) OR version = :v)" if read_version == 0 else "version = :v")
        return self._table.put_if(codecs.tenant_item(tenant), condition=condition,
                                  values_of_condition={":v": read_version})


def active_admin_check(table: Table, admin: Operator) -> dict[str, Any]:
    """A transaction item checking that ``admin`` is still an active admin."""
    # an invited admin who never set a password nor linked an identity is not one yet: the
    # invitation may lapse
    return table.check_item(keys.tenant_pk(admin.tenant), keys.operator_sk(admin.id),
                            "#role = :admin AND blocked = :no AND (attribute_exists(password_hash) OR "
                            "size(identities) > :zero)",
                            {":admin": "admin", ":no": False, ":zero": 0}, names={"#role": "role"})


class Staff:
    """Operators and admins of a tenant: who they are, their password, their second factor,
    their invitations."""

    def __init__(self, table: Table) -> None:
        self._table = table

    # -- operators ---------------------------------------------------------------------------
    def get_by_email(self, tenant_id: str, email: str) -> Operator | None:
        """Two reads whether or not the email is known (a missing pointer still reads an
        operator key that cannot exist), so response time does not tell operators apart."""
        pointer = self._table.get(keys.tenant_pk(tenant_id), keys.email_sk(email))
        return self.get(tenant_id, pointer["user_id"] if pointer else "-")

    def get(self, tenant_id: str, user_id: str) -> Operator | None:
        raw = self._table.get(keys.tenant_pk(tenant_id), keys.operator_sk(user_id))
        return codecs.operator(raw) if raw else None

    def of_tenant(self, tenant_id: str) -> list[Operator]:
        """A tenant's operators: Query ``T#<tid>`` begins_with ``OP#``."""
        return [codecs.operator(r) for r in self._table.query(keys.tenant_pk(tenant_id), keys.OPERATORS)]

    def create(self, op: Operator) -> None:
        """Operator and its email pointer in one transaction: an email is unique per tenant."""
        self._table.transact([
            self._table.put_item(codecs.operator_item(op), condition="attribute_not_exists(pk)"),
            self._table.put_item(codecs.email_item(op), condition="attribute_not_exists(pk)"),
        ], conflict="an operator with this email already exists")

    def put(self, op: Operator) -> None:
        """Upsert (seeding): writes the operator and its email pointer."""
        self._table.put(codecs.operator_item(op))
        self._table.put(codecs.email_item(op))

    def set_password_hash(self, tenant_id: str, user_id: str, password_hash: str, *,
                          replacing: str | None = None) -> None:
        """With ``replacing`` (a rehash at sign-in), only if the stored hash is still that one
        (:class:`StandingChanged` otherwise: another sign-in rehashed it, or the password changed)."""
        pk, sk = keys.tenant_pk(tenant_id), keys.operator_sk(user_id)
        if replacing is None:
            self._table.update(pk, sk, "SET password_hash = :h", {":h": password_hash},
                               condition="attribute_exists(pk)")
            return
        if not self._table.update_if(pk, sk, "SET password_hash = :h", {":h": password_hash, ":old": replacing},
                                     condition="password_hash = :old"):
            raise StandingChanged()

    def update(self, read: Operator, *, role: str | None = None, name: str | None = None,
               blocked: bool | None = None, keep_admin: Operator | None = None) -> None:
        """Set only the fields given (a rename never writes back a role or a block it read).
        A change of role or blocked is made only if the operator's role and blocked flag are
        still as ``read`` - what the caller decided on (:class:`StandingChanged` otherwise:
        read again and decide again). With ``keep_admin``, the same transaction checks that
        this other admin is still an active admin - so that two admins demoting or blocking
        each other at once cannot leave the tenant with none (:class:`Conflict`)."""
        sets, values = [], {}
        for field, value in (("#role", role), ("#name", name), ("blocked", blocked)):
            if value is not None:
                sets.append(f"{field} = :{field.lstrip('#')}")
                values[f":{field.lstrip('#')}"] = value
        condition = "attribute_exists(pk)"
        if role is not None or blocked is not None:
            condition += " AND #role = :read_role AND blocked = :read_blocked"
            values |= {":read_role": read.role, ":read_blocked": read.blocked}
        update = "SET " + ", ".join(sets)
        names = {n: n.lstrip("#") for n in ("#role", "#name") if n in update or n in condition}
        items = [self._table.update_item(keys.tenant_pk(read.tenant), keys.operator_sk(read.id), update, values,
                                         condition=condition, names=names or None)]
        if keep_admin is not None:
            items.append(active_admin_check(self._table, keep_admin))
        try:
            self._table.write_transaction(items)
        except Cancelled as exc:
            if exc.failed(0):
                raise StandingChanged() from exc
            if exc.failed(1):
                raise Conflict("the tenant must keep an active admin") from exc
            raise Unavailable(UNAVAILABLE) from exc

    def delete(self, op: Operator, *, keep_admin: Operator | None = None) -> None:
        """Remove the operator, its email pointer and any pending invitation, in one transaction."""
        pk = keys.tenant_pk(op.tenant)
        items: list[Any] = [
            self._table.delete_item(pk, keys.operator_sk(op.id), condition="attribute_exists(pk)"),
            self._table.delete_item(pk, keys.email_sk(op.email)),
            self._table.delete_item(pk, keys.invitation_sk(op.id)),
        ]
        if keep_admin is not None:
            items.append(active_admin_check(self._table, keep_admin))
        # and its linked identities' pointers: a later sign-in with one finds nobody (refused or,
        # where the provider admits the domain, a new record), never a dangling link
        items += [self._table.delete_item(pk, keys.identity_sk(i.kind_name, i.subject)) for i in op.linked.values()]
        self._table.transact(items, conflict="the tenant must keep an active admin")

    # -- second factor -------------------------------------------------------------------------
    def set_totp_pending(self, tenant_id: str, user_id: str, secret: str) -> None:
        """Keep a freshly enrolled TOTP secret aside until one code confirms it."""
        self._table.update(keys.tenant_pk(tenant_id), keys.operator_sk(user_id), "SET totp_pending = :s",
                           {":s": secret}, condition="attribute_exists(pk)")

    def enable_totp(self, tenant_id: str, user_id: str, secret: str, step: int) -> bool:
        """Turn MFA on with the pending secret that ``step``'s code proved; False if the
        pending secret changed meanwhile (another enrolment)."""
        return self._table.update_if(
            keys.tenant_pk(tenant_id), keys.operator_sk(user_id),
            "SET totp_secret = :s, totp_enabled = :on, totp_last_step = :step REMOVE totp_pending",
            {":s": secret, ":on": True, ":step": step}, condition="totp_pending = :s")

    def use_totp_step(self, tenant_id: str, user_id: str, step: int) -> bool:
        """Accept a code's time step once: only a step later than the last accepted one
        passes (replay protection, race-safe). False if it was used already."""
        return self._table.update_if(
            keys.tenant_pk(tenant_id), keys.operator_sk(user_id), "SET totp_last_step = :step",
            {":step": step, ":on": True},
            condition="totp_enabled = :on AND (attribute_not_exists(totp_last_step) OR totp_last_step < :step)")

    def replace_totp_secret(self, tenant_id: str, user_id: str, *, old: str, new: str) -> bool:
        """Store the same secret in another form (sealed), only if it is still ``old``."""
        return self._table.update_if(keys.tenant_pk(tenant_id), keys.operator_sk(user_id),
                                     "SET totp_secret = :new", {":new": new, ":old": old},
                                     condition="totp_secret = :old")

    def disable_totp(self, tenant_id: str, user_id: str) -> None:
        """MFA off: the secret and any pending enrolment are forgotten."""
        self._table.update(keys.tenant_pk(tenant_id), keys.operator_sk(user_id),
                           "SET totp_enabled = :off REMOVE totp_secret, totp_pending", {":off": False},
                           condition="attribute_exists(pk)")

    def drop_pending_totp(self, tenant_id: str, user_id: str) -> bool:
        """Forget an enrolment not confirmed yet - only while MFA is still off (False if a
        confirm turned it on meanwhile: then it is not just pending any more)."""
        return self._table.update_if(
            keys.tenant_pk(tenant_id), keys.operator_sk(user_id), "REMOVE totp_pending", {":on": True},
            condition="attribute_exists(pk) AND (attribute_not_exists(totp_enabled) OR totp_enabled <> :on)")

    # -- MFA challenges ----------------------------------------------------------------------------
    def put_mfa_challenge(self, tenant_id: str, user_id: str, challenge_id: str, token_hash: str,
                          *, expires_at: int, password: str) -> None:
        """``password``: a digest of the password hash the challenge was earned with."""
        self._table.put({"pk": keys.user_pk(tenant_id, user_id), "sk": keys.mfa_sk(challenge_id),
                         "hash": token_hash, "password": password, "attempts": 0, "expires_at": expires_at,
                         "ttl": expires_at})

    def get_mfa_challenge(self, tenant_id: str, user_id: str, challenge_id: str) -> dict[str, Any] | None:
        return self._table.get(keys.user_pk(tenant_id, user_id), keys.mfa_sk(challenge_id), consistent=True)

    def count_mfa_failure(self, tenant_id: str, user_id: str, challenge_id: str, *, max_attempts: int) -> bool:
        """One more wrong code on this challenge; False once it has had ``max_attempts``."""
        return self._table.update_if(
            keys.user_pk(tenant_id, user_id), keys.mfa_sk(challenge_id), "ADD attempts :one",
            {":one": 1, ":max": max_attempts - 1}, condition="attempts < :max")

    def delete_mfa_challenges(self, tenant_id: str, user_id: str) -> int:
        """Every pending MFA challenge of the user (Query ``MFA#``, then batch deletes)."""
        found = [keys.key(r["pk"], r["sk"]) for r in self._table.query(keys.user_pk(tenant_id, user_id),
                                                                         keys.MFA_CHALLENGES, consistent=True)]
        self._table.batch_delete(found)
        return len(found)

    def consume_mfa_challenge(self, tenant_id: str, user_id: str, challenge_id: str, token_hash: str,
                              *, now: int) -> bool:
        """Delete the challenge if it is this token's and unexpired: True exactly once."""
        return self._table.delete_if(keys.user_pk(tenant_id, user_id), keys.mfa_sk(challenge_id),
                                     condition="#h = :h AND expires_at > :now", names={"#h": "hash"},
                                     values={":h": token_hash, ":now": now})

    # -- invitations -------------------------------------------------------------------------------
    def create_invited(self, op: Operator, token_hash: str, *, expires_at: int) -> None:
        """A new operator with no password yet, its email pointer and its invitation."""
        self._table.transact([
            self._table.put_item(codecs.operator_item(op), condition="attribute_not_exists(pk)"),
            self._table.put_item(codecs.email_item(op), condition="attribute_not_exists(pk)"),
            self._table.put_item({"pk": keys.tenant_pk(op.tenant), "sk": keys.invitation_sk(op.id),
                                  "hash": token_hash, "expires_at": expires_at, "ttl": expires_at}),
        ], conflict="an operator with this email already exists")

    def accept_invitation(self, tenant_id: str, user_id: str, token_hash: str, password_hash: str,
                          *, now: int) -> bool:
        """Set the invitee's password and delete the invitation, if it matches and is
        unexpired: True exactly once."""
        pk = keys.tenant_pk(tenant_id)
        try:
            self._table.transact([
                self._table.delete_item(pk, keys.invitation_sk(user_id), condition="#h = :h AND expires_at > :now",
                                        names={"#h": "hash"}, values={":h": token_hash, ":now": now}),
                self._table.update_item(pk, keys.operator_sk(user_id), "SET password_hash = :p",
                                        {":p": password_hash, ":no": False},
                                        condition="attribute_exists(pk) AND blocked = :no"),
            ])
        except Conflict:
            return False
        return True
