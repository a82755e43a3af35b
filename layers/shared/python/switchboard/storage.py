"""The one door to DynamoDB. Nothing else in Switchboard imports boto3's DynamoDB.

Single-table design. Every access pattern is written beside the key it uses:

======================  ==========================  ====================  ==========================================
item                    pk                          sk                    access patterns
======================  ==========================  ====================  ==========================================
tenant                  ``T#<tid>``                 ``TENANT``            GetItem by tenant id (every sign-in)
operator                ``T#<tid>``                 ``OP#<uid>``          GetItem by id; Query begins_with ``OP#``
                                                                          lists a tenant's operators (TOTP secrets
                                                                          arrive sealed: sealing.py)
operator email          ``T#<tid>``                 ``EMAIL#<email>``     GetItem by email at sign-in; created in the
                                                                          same transaction as the operator, so an
                                                                          email is unique per tenant
session                 ``U#<tid>#<uid>``           ``S#<sid>``           GetItem by (tid, uid, sid), strongly
                                                                          consistent, on every authenticated call
                                                                          (the ids come from the token);
                                                                          Query begins_with ``S#`` lists a user's
                                                                          sessions (revoke all, scope revocation,
                                                                          GET /auth/sessions) - strongly consistent,
                                                                          so nothing just created is missed
rotated refresh hash    ``U#<tid>#<uid>``           ``RT#<sid>#<gen>``    Put in the rotation's transaction; GetItem
                                                                          when a refused token's generation was
                                                                          rotated (reuse or a guess); TTL
session by id           GSI1 ``SID#<sid>``          ``SESSION``           an admin revoking a session by id alone
                                                                          (KEYS_ONLY projection, then GetItem)
audit event             ``T#<tid>#EV``              ``<time-ordered id>`` Query newest first (ScanIndexForward off);
                                                                          a ``sign_in`` is put in one transaction
                                                                          with its new session
invitation              ``T#<tid>``                 ``INV#<uid>``         GetItem when the invitee sets a password;
                                                                          deleted with that write (single use), TTL
MFA challenge           ``U#<tid>#<uid>``           ``MFA#<id>``          GetItem by the id in the ``mfa_token``;
                                                                          conditional Delete consumes it once; TTL
rate-limit counter      ``RL#<key>``                ``H#<hour start>``    one UpdateItem ADD per attempt returns the
                                                                          hour's and the minute's counts; TTL
seen once               ``ONCE#<key>``              ``ONCE``              conditional Put: a signed hook request is
                                                                          accepted once (replay refused); TTL
-- chat (WebSocket) --
connection              ``C#<cid>``                 ``CONN``              GetItem (consistent) at the start of every
                                                                          action: who, tenant, role, scopes *now*
connection of a user    ``U#<tid>#<uid>``           ``C#<cid>``           Query begins_with ``C#`` (consistent):
                                                                          revocation reaches a user's connections
staff presence          ``T#<tid>#OPS``             ``OC#<uid>#<cid>``    one per live operator/admin connection;
staff load              ``T#<tid>#OPS``             ``OP#<uid>``          open assignments and last assignment time;
                                                                          one Query of the partition = who is online
                                                                          and how loaded (assignment)
channel                 ``CH#<chid>``               ``META``              GetItem (consistent); GSI2
                                                                          ``ST#<tid>#<status>`` (support channels,
                                                                          queued / open) sorted by ``gsi2sk``
                                                                          = ``<last activity ms>#<chid>``
membership              ``U#<tid>#<uid>``           ``M#<chid>``          GSI2 ``MEM#<tid>#<uid>``: a user's channels,
                                                                          newest activity first
assignment              ``U#<tid>#<uid>``           ``A#<chid>``          Query begins_with ``A#``: an operator's open
                                                                          channels (requeued when they go offline);
                                                                          GSI2 ``ASG#<tid>#<uid>``: their open inbox
open support pointer    ``U#<tid>#<uid>``           ``SUPPORT``           GetItem; conditional Put: one open support
                                                                          channel per visitor, even under races;
                                                                          moved when an anonymous visitor is
                                                                          identified (hand_over_support_channel)
message                 ``CH#<chid>``               ``MSG#<mid>``         Query backwards (history, watch, transcript)
client-id record        ``CH#<chid>``               ``CID#<uid>#<cli>``   conditional Put in the message's
                                                                          transaction: a client_id is stored once
read marker             ``CH#<chid>``               ``R#<uid>``           Put (only forwards)
watch                   ``CH#<chid>``               ``W#<cid>``           Query begins_with ``W#``: the fan-out list,
                                                                          grows with the channel's watchers only
watch (reverse)         ``C#<cid>``                 ``W#<chid>``          Query on disconnect: what to unsubscribe
======================  ==========================  ====================  ==========================================

Expiring items carry ``ttl`` (epoch seconds) so DynamoDB deletes them; reads still check
expiry themselves because TTL deletion lags. No request path uses Scan.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from msgspec.structs import replace

from switchboard import settle
from switchboard.errors import Conflict, NotFound, SessionRevoked, Unavailable
from switchboard.models import (
    AuditEvent,
    Channel,
    Connection,
    Message,
    Operator,
    OperatorPresence,
    Session,
    SessionKey,
    Tenant,
    Watcher,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["RotationRefused", "Store", "dynamodb_client", "make_store"]

settle()  # boto3 is loaded: see switchboard.settle
_ser = TypeSerializer()
_de = TypeDeserializer()
REFRESH_SLOTS = 32  # sessions made before RT# items kept their last rotated hashes in 32 slots (still read)
TRANSACT_MAX = 100
STAFF_ROLES = frozenset({"operator", "admin"})  # who is assigned support channels
#: what a staff connection needs to count as present (assignable, told of the queue): a
#: conversation given to someone who may not read or write it would be stranded
HANDLES_CHATS = frozenset({"chat:read", "chat:write"})


class StandingChanged(Exception):
    """The operator a session stands on is gone, blocked, has another role, or (at sign-in)
    another password than the one just checked: the write that needed it did not happen."""


def _cancelled(exc: ClientError, index: int) -> bool:
    """Whether item ``index`` of a cancelled transaction failed its condition."""
    reasons = exc.response.get("CancellationReasons") or []
    return len(reasons) > index and reasons[index].get("Code") == "ConditionalCheckFailed"


class RotationRefused(Exception):
    """The conditional rotation failed; ``session`` is the item as it was (None if absent)."""

    def __init__(self, session: Session | None) -> None:
        super().__init__("refresh rotation refused")
        self.session = session


def _item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in values.items() if v is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def _read(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_de.deserialize(v)) for k, v in item.items()}


def _conditional_failed(exc: ClientError) -> bool:
    """A condition did not hold - not a throttled or conflicting transaction (those are
    :class:`Unavailable`: retry later), whose cancellation carries no ConditionalCheckFailed."""
    code = exc.response.get("Error", {}).get("Code")
    if code == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons") or []
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)
    return code == "ConditionalCheckFailedException"


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    """One client per container. Timeouts are short: a Lambda answering a browser should
    fail fast and let the client retry rather than hang."""
    from botocore.config import Config

    from switchboard import aws

    config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    made: DynamoDBClient = aws.client("dynamodb", config=config)
    settle()  # the client's service model lives as long as the container
    return made


def _session_pk(tenant: str, user_id: str) -> str:
    return f"U#{tenant}#{user_id}"


class Store:
    """Typed operations on the table. Converts AWS errors into domain errors."""

    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._client = client
        self._client_lock = threading.Lock()

    @property
    def client(self) -> DynamoDBClient:
        # made once even when the first calls come from several threads at once (the rate
        # limiter's counters): a cold container must not build three clients
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = dynamodb_client()
        return self._client

    # -- tenants ---------------------------------------------------------------
    def get_tenant(self, tenant_id: str) -> Tenant | None:
        raw = self._get(f"T#{tenant_id}", "TENANT")
        if raw is None:
            return None
        return Tenant(
            id=raw["tenant"],
            name=raw.get("name", raw["tenant"]),
            identity_secret=raw["identity_secret"],
            hook_secret=raw.get("hook_secret", ""),
            allowed_origins=tuple(raw.get("allowed_origins", [])),
            visitor_attachments=bool(raw.get("visitor_attachments", False)),
            widget=raw.get("widget", {}),
            claims=raw.get("claims", {}),
            deny_email_domains=tuple(raw.get("deny_email_domains", [])),
        )

    def put_tenant(self, tenant: Tenant) -> None:
        self._put(
            {
                "pk": f"T#{tenant.id}",
                "sk": "TENANT",
                "tenant": tenant.id,
                "name": tenant.name,
                "identity_secret": tenant.identity_secret,
                "hook_secret": tenant.hook_secret,
                "allowed_origins": list(tenant.allowed_origins),
                "visitor_attachments": tenant.visitor_attachments,
                "widget": dict(tenant.widget),
                "claims": dict(tenant.claims),
                "deny_email_domains": list(tenant.deny_email_domains),
            }
        )

    # -- operators -------------------------------------------------------------
    def get_operator_by_email(self, tenant_id: str, email: str) -> Operator | None:
        """Two reads whether or not the email is known (a missing pointer still reads an
        operator key that cannot exist), so response time does not tell operators apart."""
        pointer = self._get(f"T#{tenant_id}", f"EMAIL#{email.lower()}")
        return self.get_operator(tenant_id, pointer["user_id"] if pointer else "-")

    def get_operator(self, tenant_id: str, user_id: str) -> Operator | None:
        raw = self._get(f"T#{tenant_id}", f"OP#{user_id}")
        return _operator(raw) if raw else None

    def list_operators(self, tenant_id: str) -> list[Operator]:
        return [_operator(r) for r in self._query(f"T#{tenant_id}", "OP#")]

    def create_operator(self, op: Operator) -> None:
        """Operator and its email pointer in one transaction: an email is unique per tenant."""
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": _item(_operator_item(op)),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": _item(
                                {"pk": f"T#{op.tenant}", "sk": f"EMAIL#{op.email.lower()}", "user_id": op.id}
                            ),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise Conflict("an operator with this email already exists") from exc
            raise Unavailable("storage unavailable") from exc

    def put_operator(self, op: Operator) -> None:
        """Upsert (seeding): writes the operator and its email pointer."""
        self._put(_operator_item(op))
        self._put({"pk": f"T#{op.tenant}", "sk": f"EMAIL#{op.email.lower()}", "user_id": op.id})

    def set_password_hash(self, tenant_id: str, user_id: str, password_hash: str, *,
                          replacing: str | None = None) -> None:
        """With ``replacing`` (a rehash at sign-in), only if the stored hash is still that one
        (:class:`StandingChanged` otherwise: another sign-in rehashed it, or the password changed)."""
        if replacing is None:
            self._update(f"T#{tenant_id}", f"OP#{user_id}", "SET password_hash = :h", {":h": password_hash},
                         condition="attribute_exists(pk)")
            return
        if not self._conditional_update(f"T#{tenant_id}", f"OP#{user_id}", "SET password_hash = :h",
                                        {":h": password_hash, ":old": replacing}, condition="password_hash = :old"):
            raise StandingChanged()

    def update_operator(self, read: Operator, *, role: str | None = None, name: str | None = None,
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
        items: list[Any] = [{"Update": {
            "TableName": self.table, "Key": _item({"pk": f"T#{read.tenant}", "sk": f"OP#{read.id}"}),
            "UpdateExpression": update, "ConditionExpression": condition,
            **({"ExpressionAttributeNames": names} if names else {}),
            "ExpressionAttributeValues": _item(values)}}]
        if keep_admin is not None:
            items.append(self._active_admin_check(keep_admin))
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _cancelled(exc, 0):
                raise StandingChanged() from exc
            if _cancelled(exc, 1):
                raise Conflict("the tenant must keep an active admin") from exc
            raise Unavailable("storage unavailable") from exc

    def delete_operator(self, op: Operator, *, keep_admin: Operator | None = None) -> None:
        """Remove the operator, its email pointer and any pending invitation, in one transaction."""
        items: list[Any] = [
            {"Delete": {"TableName": self.table, "Key": _item({"pk": f"T#{op.tenant}", "sk": f"OP#{op.id}"}),
                        "ConditionExpression": "attribute_exists(pk)"}},
            {"Delete": {"TableName": self.table,
                        "Key": _item({"pk": f"T#{op.tenant}", "sk": f"EMAIL#{op.email.lower()}"})}},
            {"Delete": {"TableName": self.table, "Key": _item({"pk": f"T#{op.tenant}", "sk": f"INV#{op.id}"})}},
        ]
        if keep_admin is not None:
            items.append(self._active_admin_check(keep_admin))
        self._transact(items, conflict="the tenant must keep an active admin")

    def _standing(self, tenant: str, user_id: str, role: str, password_hash: str | None = None,
                  totp_enabled: bool | None = None) -> dict[str, Any]:
        """A transaction item checking that an operator still exists, is not blocked and has
        ``role`` (and, given, ``password_hash`` and the second factor on or off): a session is
        only opened or renewed for the operator as they are, whatever an admin, a password
        change or turning MFA on or off did meanwhile."""
        condition = "attribute_exists(pk) AND blocked = :no AND #role = :role"
        values: dict[str, Any] = {":no": False, ":role": role}
        if password_hash is not None:
            condition += " AND password_hash = :hash"
            values[":hash"] = password_hash
        if totp_enabled is not None:
            condition += (" AND totp_enabled = :mfa" if totp_enabled else
                          " AND (attribute_not_exists(totp_enabled) OR totp_enabled = :mfa)")
            values[":mfa"] = totp_enabled
        return {"ConditionCheck": {
            "TableName": self.table, "Key": _item({"pk": f"T#{tenant}", "sk": f"OP#{user_id}"}),
            "ConditionExpression": condition, "ExpressionAttributeNames": {"#role": "role"},
            "ExpressionAttributeValues": _item(values)}}

    def _active_admin_check(self, admin: Operator) -> dict[str, Any]:
        return {"ConditionCheck": {
            "TableName": self.table, "Key": _item({"pk": f"T#{admin.tenant}", "sk": f"OP#{admin.id}"}),
            # an invited admin who never set a password is not one yet: the invitation may lapse
            "ConditionExpression": "#role = :admin AND blocked = :no AND attribute_exists(password_hash)",
            "ExpressionAttributeNames": {"#role": "role"},
            "ExpressionAttributeValues": _item({":admin": "admin", ":no": False})}}

    # -- operators: second factor ------------------------------------------------
    def set_totp_pending(self, tenant_id: str, user_id: str, secret: str) -> None:
        """Keep a freshly enrolled TOTP secret aside until one code confirms it."""
        self._update(f"T#{tenant_id}", f"OP#{user_id}", "SET totp_pending = :s", {":s": secret},
                     condition="attribute_exists(pk)")

    def enable_totp(self, tenant_id: str, user_id: str, secret: str, step: int) -> bool:
        """Turn MFA on with the pending secret that ``step``'s code proved; False if the
        pending secret changed meanwhile (another enrolment)."""
        return self._conditional_update(
            f"T#{tenant_id}", f"OP#{user_id}",
            "SET totp_secret = :s, totp_enabled = :on, totp_last_step = :step REMOVE totp_pending",
            {":s": secret, ":on": True, ":step": step}, condition="totp_pending = :s")

    def use_totp_step(self, tenant_id: str, user_id: str, step: int) -> bool:
        """Accept a code's time step once: only a step later than the last accepted one
        passes (replay protection, race-safe). False if it was used already."""
        return self._conditional_update(
            f"T#{tenant_id}", f"OP#{user_id}", "SET totp_last_step = :step", {":step": step, ":on": True},
            condition="totp_enabled = :on AND (attribute_not_exists(totp_last_step) OR totp_last_step < :step)")

    def replace_totp_secret(self, tenant_id: str, user_id: str, *, old: str, new: str) -> bool:
        """Store the same secret in another form (sealed), only if it is still ``old``."""
        return self._conditional_update(f"T#{tenant_id}", f"OP#{user_id}", "SET totp_secret = :new",
                                        {":new": new, ":old": old}, condition="totp_secret = :old")

    def disable_totp(self, tenant_id: str, user_id: str) -> None:
        self._update(f"T#{tenant_id}", f"OP#{user_id}",
                     "SET totp_enabled = :off REMOVE totp_secret, totp_pending", {":off": False},
                     condition="attribute_exists(pk)")

    def drop_pending_totp(self, tenant_id: str, user_id: str) -> bool:
        """Forget an enrolment not confirmed yet - only while MFA is still off (False if a
        confirm turned it on meanwhile: then it is not just pending any more)."""
        return self._conditional_update(
            f"T#{tenant_id}", f"OP#{user_id}", "REMOVE totp_pending", {":on": True},
            condition="attribute_exists(pk) AND (attribute_not_exists(totp_enabled) OR totp_enabled <> :on)")

    def put_mfa_challenge(self, tenant_id: str, user_id: str, challenge_id: str, token_hash: str,
                          *, expires_at: int, password: str) -> None:
        """``password``: a digest of the password hash the challenge was earned with."""
        self._put({"pk": _session_pk(tenant_id, user_id), "sk": f"MFA#{challenge_id}", "hash": token_hash,
                   "password": password, "attempts": 0, "expires_at": expires_at, "ttl": expires_at})

    def get_mfa_challenge(self, tenant_id: str, user_id: str, challenge_id: str) -> dict[str, Any] | None:
        return self._get(_session_pk(tenant_id, user_id), f"MFA#{challenge_id}", consistent=True)

    def count_mfa_failure(self, tenant_id: str, user_id: str, challenge_id: str, *, max_attempts: int) -> bool:
        """One more wrong code on this challenge; False once it has had ``max_attempts``."""
        return self._conditional_update(
            _session_pk(tenant_id, user_id), f"MFA#{challenge_id}", "ADD attempts :one",
            {":one": 1, ":max": max_attempts - 1}, condition="attempts < :max")

    def delete_mfa_challenges(self, tenant_id: str, user_id: str) -> int:
        """Every pending MFA challenge of the user (Query ``MFA#``, then batch deletes)."""
        keys = [{"pk": r["pk"], "sk": r["sk"]} for r in self._query(_session_pk(tenant_id, user_id), "MFA#",
                                                                    consistent=True)]
        self._batch_delete(keys)
        return len(keys)

    def consume_mfa_challenge(self, tenant_id: str, user_id: str, challenge_id: str, token_hash: str,
                              *, now: int) -> bool:
        """Delete the challenge if it is this token's and unexpired: True exactly once."""
        try:
            self.client.delete_item(
                TableName=self.table, Key=_item({"pk": _session_pk(tenant_id, user_id), "sk": f"MFA#{challenge_id}"}),
                ConditionExpression="#h = :h AND expires_at > :now", ExpressionAttributeNames={"#h": "hash"},
                ExpressionAttributeValues=_item({":h": token_hash, ":now": now}))
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise Unavailable("storage unavailable") from exc
        return True

    # -- operators: invitations ----------------------------------------------------
    def create_invited_operator(self, op: Operator, token_hash: str, *, expires_at: int) -> None:
        """A new operator with no password yet, its email pointer and its invitation."""
        self._transact([
            {"Put": {"TableName": self.table, "Item": _item(_operator_item(op)),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": self.table,
                     "Item": _item({"pk": f"T#{op.tenant}", "sk": f"EMAIL#{op.email.lower()}", "user_id": op.id}),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": self.table,
                     "Item": _item({"pk": f"T#{op.tenant}", "sk": f"INV#{op.id}", "hash": token_hash,
                                    "expires_at": expires_at, "ttl": expires_at})}},
        ], conflict="an operator with this email already exists")

    def accept_invitation(self, tenant_id: str, user_id: str, token_hash: str, password_hash: str,
                          *, now: int) -> bool:
        """Set the invitee's password and delete the invitation, if it matches and is
        unexpired: True exactly once."""
        try:
            self._transact([
                {"Delete": {"TableName": self.table, "Key": _item({"pk": f"T#{tenant_id}", "sk": f"INV#{user_id}"}),
                            "ConditionExpression": "#h = :h AND expires_at > :now",
                            "ExpressionAttributeNames": {"#h": "hash"},
                            "ExpressionAttributeValues": _item({":h": token_hash, ":now": now})}},
                {"Update": {"TableName": self.table, "Key": _item({"pk": f"T#{tenant_id}", "sk": f"OP#{user_id}"}),
                            "UpdateExpression": "SET password_hash = :p",
                            "ConditionExpression": "attribute_exists(pk) AND blocked = :no",
                            "ExpressionAttributeValues": _item({":p": password_hash, ":no": False})}},
            ])
        except Conflict:
            return False
        return True

    # -- rate limits -----------------------------------------------------------------
    def hit_rate_counter(self, key: str, *, now: int) -> tuple[int, int]:
        """Count one attempt for ``key``: returns (attempts this clock hour, this clock minute).

        One atomic ADD on one item, so every Lambda container shares the count and
        concurrent attempts are all counted. Fixed windows on purpose: a window always
        ends, however many refused attempts it saw, so a limited account is free again
        when the window turns (an attacker cannot extend a lock-out by hammering).
        """
        hour = now - now % 3600
        minute_attr = f"m{(now % 3600) // 60}"
        try:
            resp = self.client.update_item(
                TableName=self.table, Key=_item({"pk": f"RL#{key}", "sk": f"H#{hour}"}),
                UpdateExpression="ADD n :one, #m :one SET #ttl = if_not_exists(#ttl, :ttl)",
                ExpressionAttributeNames={"#m": minute_attr, "#ttl": "ttl"},
                ExpressionAttributeValues=_item({":one": 1, ":ttl": hour + 7200}),
                ReturnValues="UPDATED_NEW")
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc
        got = _read(resp["Attributes"])
        return int(got["n"]), int(got[minute_attr])

    def first_time(self, key: str, *, expires_at: int) -> bool:
        """Record ``key`` as seen; True the first time, False on every later call (until TTL)."""
        try:
            self.client.put_item(TableName=self.table,
                                 Item=_item({"pk": f"ONCE#{key}", "sk": "ONCE", "ttl": expires_at}),
                                 ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise Unavailable("storage unavailable") from exc
        return True

    # -- sessions --------------------------------------------------------------
    def create_session(self, s: Session, refresh_hash: str, *, event: AuditEvent, event_ttl: int,
                       operator: Operator | None = None) -> None:
        """The session item and the audit event of the sign-in that opened it, in one
        transaction: one round trip, and no session exists without its ``sign_in`` event.

        For an operator's sign-in, the same transaction checks that the operator is still as
        read (not removed or blocked, same role, password hash and second factor on or off): an
        admin's block, a password change or MFA turned on that lands during the sign-in's argon2
        check either comes first and refuses it (:class:`StandingChanged`), or comes after and
        finds the session to end."""
        item = _session_item(s)
        item["rt_hash"] = refresh_hash
        items: list[Any] = [
            {"Put": {"TableName": self.table, "Item": _item(item), "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": self.table, "Item": _item(_event_item(event, event_ttl))}},
        ]
        if operator is not None:
            items.append(self._standing(operator.tenant, operator.id, operator.role, operator.password_hash or "-",
                                        totp_enabled=operator.totp_enabled))
        try:
            self.client.transact_write_items(
                TransactItems=items,
                # the SDK retries a transaction that timed out; the token makes a retry of one
                # that did commit succeed again instead of failing its own condition
                ClientRequestToken=s.id[:36],
            )
        except ClientError as exc:
            if _cancelled(exc, 2):
                raise StandingChanged() from exc
            if _cancelled(exc, 0):
                raise Conflict("session id collision") from exc
            raise Unavailable("storage unavailable") from exc  # throttled, a conflicting transaction...

    def get_session(self, key: SessionKey) -> Session | None:
        raw = self._get(_session_pk(key.tenant, key.user_id), f"S#{key.session_id}", consistent=True)
        return _session(raw) if raw else None

    def find_session_key(self, session_id: str) -> SessionKey | None:
        """GSI1 lookup by session id alone (eventually consistent; callers re-read the item)."""
        try:
            resp = self.client.query(
                TableName=self.table,
                IndexName="GSI1",
                KeyConditionExpression="gsi1pk = :p",
                ExpressionAttributeValues=_item({":p": f"SID#{session_id}"}),
                Limit=1,
            )
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc
        for raw in resp.get("Items", []):
            r = _read(raw)
            _, tenant, user_id = r["pk"].split("#", 2)
            return SessionKey(tenant, user_id, session_id)
        return None

    def list_sessions(self, tenant_id: str, user_id: str) -> list[Session]:
        return [_session(r) for r in self._query(_session_pk(tenant_id, user_id), "S#", consistent=True)]

    def read_refresh(self, key: SessionKey) -> tuple[Session, str | None] | None:
        """The session (consistent) and its current refresh-token hash."""
        raw = self._get(_session_pk(key.tenant, key.user_id), f"S#{key.session_id}", consistent=True)
        if raw is None:
            return None
        return _session(raw), raw.get("rt_hash")

    def rotated_hash(self, key: SessionKey, gen: int) -> str | None:
        """The hash of the session's refresh token of generation ``gen``, if it was rotated:
        ``U#<tid>#<uid>`` / ``RT#<sid>#<gen>`` (one per rotation, TTL'd with the session), or a
        slot of a session made before those items (``u<gen % 32>``: only the last 32)."""
        pk = _session_pk(key.tenant, key.user_id)
        found = self._get(pk, f"RT#{key.session_id}#{gen}", consistent=True)
        if found is not None:
            return str(found["hash"])
        legacy = self._get(pk, f"S#{key.session_id}", consistent=True)
        slot = legacy.get(f"u{gen % REFRESH_SLOTS}") if legacy else None
        return str(slot) if slot and legacy and gen >= int(legacy.get("refresh_gen", 0)) - REFRESH_SLOTS else None

    def rotate_refresh(
        self, key: SessionKey, *, gen: int, presented_hash: str, new_hash: str, now: int, idle_until: int,
        expires_at: int, event: AuditEvent, event_ttl: int, operator_role: str | None = None,
    ) -> None:
        """Rotate the refresh token and record the ``refresh`` event, in one transaction.

        Succeeds only if the presented hash is the session's current one, for the
        generation the token names, and the session is live. The rotated hash is kept as its
        own item (``RT#<sid>#<gen>``, until the session's end) so that a later replay of it,
        however many rotations later, is recognised as reuse (theft) rather than as a random
        guess; the session item stays small. On failure the item as it was comes back in the
        cancellation reason (ReturnValuesOnConditionCheckFailure).
        The new hash is the idempotency token: the SDK's retry of a transaction that did
        commit succeeds again instead of looking like reuse of the token it just rotated.
        With ``operator_role`` (an operator's session), the same transaction checks that the
        operator still exists, is not blocked and has that role (:class:`StandingChanged`).
        """
        pk = _session_pk(key.tenant, key.user_id)
        standing: list[Any] = [self._standing(key.tenant, key.user_id, operator_role)] if operator_role else []
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Update": {
                        "TableName": self.table,
                        "Key": _item({"pk": pk, "sk": f"S#{key.session_id}"}),
                        "UpdateExpression": "SET rt_hash = :new, refresh_gen = :next, "
                                            "last_used_at = :now, idle_expires_at = :idle",
                        "ConditionExpression": "rt_hash = :old AND refresh_gen = :gen AND #st = :live "
                                               "AND expires_at > :now AND idle_expires_at > :now",
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": _item({
                            ":new": new_hash, ":old": presented_hash, ":gen": gen, ":next": gen + 1,
                            ":now": now, ":idle": idle_until, ":live": "live"}),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }},
                    {"Put": {"TableName": self.table, "Item": _item(_event_item(event, event_ttl))}},
                    {"Put": {"TableName": self.table, "Item": _item({
                        "pk": pk, "sk": f"RT#{key.session_id}#{gen}", "hash": presented_hash,
                        "ttl": expires_at + 86400})}},
                    *standing,
                ],
                ClientRequestToken=new_hash[:36],
            )
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if _cancelled(exc, 0):
                old: Any = reasons[0].get("Item")
                raise RotationRefused(_session(_read(old)) if old else None) from exc
            if standing and _cancelled(exc, 3):
                raise StandingChanged() from exc
            raise Unavailable("storage unavailable") from exc  # throttled, a conflicting transaction...

    def revoke_sessions(self, sessions: Iterable[SessionKey], *, reason: str, now: int) -> None:
        """Mark sessions revoked, in transactions of up to 100 (all of a user's at once)."""
        self._transact_updates(
            sessions,
            "SET #st = :revoked, revoked_at = :now, revoked_reason = :why REMOVE rt_hash",
            {"#st": "status"},
            {":revoked": "revoked", ":now": now, ":why": reason},
        )

    def revoke_scopes(self, sessions: Iterable[SessionKey], scopes: frozenset[str]) -> None:
        """Remove scopes from each session's current set (DELETE on a string set)."""
        self._transact_updates(sessions, "DELETE scopes :gone", {}, {":gone": set(scopes)})

    def _transact_updates(
        self, keys: Iterable[SessionKey], expression: str, names: dict[str, str], values: dict[str, Any]
    ) -> None:
        updates: list[Any] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": _item({"pk": _session_pk(k.tenant, k.user_id), "sk": f"S#{k.session_id}"}),
                    "UpdateExpression": expression,
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": _item(values),
                    **({"ExpressionAttributeNames": names} if names else {}),
                }
            }
            for k in keys
        ]
        for start in range(0, len(updates), TRANSACT_MAX):
            try:
                self.client.transact_write_items(TransactItems=updates[start : start + TRANSACT_MAX])
            except ClientError as exc:
                if _conditional_failed(exc):
                    raise NotFound("session not found") from exc
                raise Unavailable("storage unavailable") from exc

    # -- connections (WebSocket) ---------------------------------------------------
    def put_connection(self, c: Connection, *, operator: bool, now: int) -> Connection:
        """Record a connection, in one transaction that also checks its session.

        Writes the connection, its entry under its user (revocation finds it there; it says
        whether the connection may read, for fan-out) and, for staff holding
        :data:`HANDLES_CHATS`, a presence item; and checks - atomically with those writes - that the session
        is still live and still holds every scope the connection claims. A revocation either
        commits first (this check fails) or after (its Query of the user's connections sees
        this one), so no connection slips past a revocation between ``$connect``'s authorizer
        and this write. If only scopes were taken meanwhile, the connection is recorded with
        what is left. Raises :class:`SessionRevoked` if the session is no longer live.
        """
        for _ in range(3):
            items: list[Any] = [
                {"Put": {"TableName": self.table, "Item": _item(_connection_item(c))}},
                {"Put": {"TableName": self.table, "Item": _item({
                    "pk": _session_pk(c.tenant, c.user_id), "sk": f"C#{c.id}", "connection_id": c.id,
                    "session_id": c.session_id, "reads": "chat:read" in c.scopes, "ttl": c.expires_at})}},
                _session_check(self.table, c, now),
            ]
            if operator and c.scopes >= HANDLES_CHATS:
                items.append({"Put": {"TableName": self.table, "Item": _item({
                    "pk": _ops_pk(c.tenant), "sk": f"OC#{c.user_id}#{c.id}", "user_id": c.user_id, "role": c.role,
                    "name": c.name, "connection_id": c.id, "expires_at": c.expires_at, "ttl": c.expires_at})}})
            try:
                self.client.transact_write_items(TransactItems=items)
                return c
            except ClientError as exc:
                reasons = exc.response.get("CancellationReasons") or []
                if len(reasons) < 3 or reasons[2].get("Code") != "ConditionalCheckFailed":
                    raise Unavailable("storage unavailable") from exc
                old = reasons[2].get("Item")
                session = _session(_read(old)) if old else None
                if session is None or not session.is_live(now):
                    raise SessionRevoked() from exc
                c = replace(c, scopes=c.scopes & session.scopes)  # scopes revoked meanwhile: keep the rest
        raise Unavailable("storage unavailable")

    def get_connection(self, connection_id: str) -> Connection | None:
        """``C#<cid>`` / ``CONN``: one consistent GetItem at the start of every action."""
        raw = self._get(f"C#{connection_id}", "CONN", consistent=True)
        return _connection(raw) if raw else None

    def list_user_connections(self, tenant: str, user_id: str, *, readers_only: bool = False) -> list[tuple[str, str]]:
        """(connection id, session id) of a user's connections: Query ``U#<tid>#<uid>`` begins_with
        ``C#``, consistent (revocation must not miss one just made, nor one past its end).
        ``readers_only``: those that still hold ``chat:read`` and have not reached their end
        (their session's, or API Gateway's 2 hours: the entry's TTL, which DynamoDB applies
        lazily) - who may be told of a channel."""
        now = int(time.time())
        return [(r["connection_id"], r["session_id"])
                for r in self._query(_session_pk(tenant, user_id), "C#", consistent=True)
                if not readers_only or (r.get("reads", True) and int(r.get("ttl", now + 1)) > now)]

    def count_user_connections(self, tenant: str, user_id: str, *, now: int) -> int:
        """Live connections of a user, every session of theirs: their entries (``U#<tid>#<uid>``
        begins_with ``C#``, one consistent Query, growing with that user's connections only),
        past their end (their TTL, applied lazily) not counted."""
        return sum(1 for r in self._query(_session_pk(tenant, user_id), "C#", consistent=True)
                   if int(r.get("ttl", now + 1)) > now)

    def delete_connection(self, connection_id: str) -> Connection | None:
        """Remove every record of a connection (idempotent); returns what it was, if anything.

        Reads the connection and its watch list (``C#<cid>`` begins_with ``W#``), then deletes
        the connection, its user entry, its presence item and both halves of each watch in
        batches. Deletes need no transaction: each is idempotent and TTL catches stragglers.
        """
        conn = self.get_connection(connection_id)
        watched = [r["channel_id"] for r in self._query(f"C#{connection_id}", "W#", consistent=True)]
        keys = [{"pk": f"C#{connection_id}", "sk": "CONN"}]
        keys += [{"pk": f"C#{connection_id}", "sk": f"W#{ch}"} for ch in watched]
        keys += [{"pk": f"CH#{ch}", "sk": f"W#{connection_id}"} for ch in watched]
        if conn is not None:
            keys.append({"pk": _session_pk(conn.tenant, conn.user_id), "sk": f"C#{connection_id}"})
            if conn.role in STAFF_ROLES:
                keys.append({"pk": _ops_pk(conn.tenant), "sk": f"OC#{conn.user_id}#{connection_id}"})
        self._batch_delete(keys)
        return conn

    def remove_connection_scopes(self, tenant: str, user_id: str, connection_ids: Iterable[str],
                                 scopes: frozenset[str]) -> None:
        """``DELETE scopes`` on each connection record (conditional: a connection gone meanwhile
        is skipped). Without ``chat:read`` its user entry stops counting it as a reader; staff
        without :data:`HANDLES_CHATS` lose their presence items (no longer assignable)."""
        ids = list(connection_ids)
        for cid in ids:
            try:
                self.client.update_item(
                    TableName=self.table, Key=_item({"pk": f"C#{cid}", "sk": "CONN"}),
                    UpdateExpression="DELETE scopes :gone", ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues=_item({":gone": set(scopes)}))
                if "chat:read" in scopes:
                    self.client.update_item(
                        TableName=self.table, Key=_item({"pk": _session_pk(tenant, user_id), "sk": f"C#{cid}"}),
                        UpdateExpression="SET #r = :no", ConditionExpression="attribute_exists(pk)",
                        ExpressionAttributeNames={"#r": "reads"}, ExpressionAttributeValues=_item({":no": False}))
            except ClientError as exc:
                if not _conditional_failed(exc):
                    raise Unavailable("storage unavailable") from exc
        if scopes & HANDLES_CHATS:  # idempotent deletes: a visitor has no presence items to lose
            self._batch_delete([{"pk": _ops_pk(tenant), "sk": f"OC#{user_id}#{cid}"} for cid in ids])

    # -- operator presence and load -------------------------------------------------
    def list_presence(self, tenant: str, *, now: int) -> list[OperatorPresence]:
        """Staff presence and load: one consistent Query of ``T#<tid>#OPS``.

        ``OP#<uid>`` holds an operator's load (open support channels assigned) and when they
        were last assigned one; ``OC#<uid>#<cid>`` is one per live staff connection. The
        Query grows with the tenant's staff and their connections, never with visitors.
        Connections past their expiry are stale (a lost ``$disconnect``) and do not count.
        """
        loads: dict[str, tuple[int, int]] = {}
        conns: dict[str, set[str]] = {}
        roles: dict[str, str] = {}
        names: dict[str, str] = {}
        for r in self._query(_ops_pk(tenant), "O", consistent=True):
            if r["sk"].startswith("OP#"):
                loads[r["user_id"]] = (max(0, int(r.get("load", 0))), int(r.get("last_assigned_at", 0)))
            elif r.get("expires_at", 0) > now:
                conns.setdefault(r["user_id"], set()).add(r["connection_id"])
                if roles.get(r["user_id"], "admin") == "admin":  # any connection made as operator: operator
                    roles[r["user_id"]] = str(r.get("role", "operator"))
                if r.get("name"):
                    names[r["user_id"]] = str(r["name"])
        return [OperatorPresence(tenant=tenant, user_id=uid, connections=frozenset(conns.get(uid, ())),
                                 load=loads.get(uid, (0, 0))[0], last_assigned_at=loads.get(uid, (0, 0))[1],
                                 role=roles.get(uid, "operator"), name=names.get(uid))
                for uid in sorted(set(loads) | set(conns))]

    def _load_update(self, tenant: str, operator_id: str, delta: int, now_ms: int) -> dict[str, Any]:
        expression = "ADD #load :d SET user_id = :u"
        values: dict[str, Any] = {":d": delta, ":u": operator_id}
        if delta > 0:
            expression += ", last_assigned_at = :now"
            values[":now"] = now_ms
        return {"Update": {"TableName": self.table, "Key": _item({"pk": _ops_pk(tenant), "sk": f"OP#{operator_id}"}),
                           "UpdateExpression": expression, "ExpressionAttributeNames": {"#load": "load"},
                           "ExpressionAttributeValues": _item(values)}}

    def _assignment_put(self, ch: Channel, operator_id: str) -> dict[str, Any]:
        return {"Put": {"TableName": self.table, "Item": _item(_assignment_item(ch, operator_id))}}

    def _assignment_delete(self, ch: Channel, operator_id: str) -> dict[str, Any]:
        return {"Delete": {"TableName": self.table,
                           "Key": _item({"pk": _session_pk(ch.tenant, operator_id), "sk": f"A#{ch.id}"})}}

    # -- channels -------------------------------------------------------------------
    def get_channel(self, channel_id: str) -> Channel | None:
        """``CH#<chid>`` / ``META``, consistent."""
        raw = self._get(f"CH#{channel_id}", "META", consistent=True)
        return _channel(raw) if raw else None

    def get_channels(self, channel_ids: list[str]) -> list[Channel]:
        """BatchGetItem (one call per 100 ids), consistent, in the order given."""
        found: dict[str, Channel] = {}
        unique = list(dict.fromkeys(channel_ids))
        for start in range(0, len(unique), 100):
            keys = [_item({"pk": f"CH#{cid}", "sk": "META"}) for cid in unique[start:start + 100]]
            request: Any = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                try:
                    resp = self.client.batch_get_item(RequestItems=request)
                except ClientError as exc:
                    raise Unavailable("storage unavailable") from exc
                for raw in resp.get("Responses", {}).get(self.table, []):
                    ch = _channel(_read(raw))
                    found[ch.id] = ch
                request = resp.get("UnprocessedKeys") or None  # BatchGet's contract: ask again for the rest
        return [found[c] for c in unique if c in found]

    def open_support_channel_id(self, tenant: str, visitor: str) -> str | None:
        """``U#<tid>#<visitor>`` / ``SUPPORT``: the visitor's one open support channel."""
        raw = self._get(_session_pk(tenant, visitor), "SUPPORT", consistent=True)
        return raw["channel_id"] if raw else None

    def create_channel(self, ch: Channel, *, support_pointer: bool, now_ms: int) -> None:
        """Channel, memberships, the visitor's open-support pointer and the assignee's
        assignment and load, atomically. A second concurrent support.open of the same
        visitor fails on the pointer: Conflict."""
        items: list[Any] = [{"Put": {"TableName": self.table, "Item": _item(_channel_item(ch)),
                                     "ConditionExpression": "attribute_not_exists(pk)"}}]
        items += [{"Put": {"TableName": self.table, "Item": _item(_membership_item(ch, m))}} for m in ch.members]
        if support_pointer and ch.visitor:
            items.append({"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)",
                                  "Item": _item({"pk": _session_pk(ch.tenant, ch.visitor), "sk": "SUPPORT",
                                                 "channel_id": ch.id})}})
        if ch.assignee and ch.type == "support" and ch.status == "open":
            items += [self._assignment_put(ch, ch.assignee), self._load_update(ch.tenant, ch.assignee, 1, now_ms)]
        self._transact(items, conflict="the channel already exists")

    def hand_over_support_channel(self, ch: Channel, *, from_user: str, to_user: str) -> Channel:
        """Give a visitor's open support channel to another user id of the same person (an
        anonymous visitor identified by the website): channel, membership and open-support
        pointer move in one transaction. Conflict if the channel changed, or if ``to_user``
        already has an open support channel of their own."""
        members = tuple(to_user if m == from_user else m for m in ch.members)
        new = replace(ch, visitor=to_user, members=members)
        self._transact([
            {"Update": {"TableName": self.table, "Key": _item({"pk": f"CH#{ch.id}", "sk": "META"}),
                        "UpdateExpression": "SET visitor = :to, members = :m",
                        "ConditionExpression": "visitor = :from AND #st <> :closed",
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": _item({":to": to_user, ":from": from_user, ":m": list(members),
                                                            ":closed": "closed"})}},
            {"Delete": {"TableName": self.table, "Key": _item({"pk": _session_pk(ch.tenant, from_user),
                                                               "sk": "SUPPORT"})}},
            {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": _item({"pk": _session_pk(ch.tenant, to_user), "sk": "SUPPORT", "channel_id": ch.id})}},
            {"Delete": {"TableName": self.table, "Key": _item({"pk": _session_pk(ch.tenant, from_user),
                                                               "sk": f"M#{ch.id}"})}},
            {"Put": {"TableName": self.table, "Item": _item(_membership_item(new, to_user))}},
        ], conflict="the conversation cannot be handed over")
        return new

    def assign_channel(self, ch: Channel, operator_id: str, *, now_ms: int,
                       operator_name: str | None = None) -> Channel:
        """Set the assignee if the channel is still as ``ch`` saw it (status and assignee):
        two operators claiming one queued channel - exactly one wins, the other gets Conflict.
        A closed channel is never assigned: that would reopen it (its condition reads "as seen")."""
        if ch.status == "closed":
            raise Conflict("the channel is closed")
        members = tuple(dict.fromkeys([*ch.members, operator_id]))
        new = replace(ch, status="open", assignee=operator_id, members=members, assignee_name=operator_name)
        condition = "#st = :st AND " + ("assignee = :old" if ch.assignee else "attribute_not_exists(assignee)")
        values: dict[str, Any] = {":st": ch.status, ":open": "open", ":a": operator_id, ":m": list(members),
                                  ":g2": _status_gsi(new), ":an": operator_name or ""}
        if ch.assignee:
            values[":old"] = ch.assignee
        items: list[Any] = [{"Update": {
            "TableName": self.table, "Key": _item({"pk": f"CH#{ch.id}", "sk": "META"}),
            "UpdateExpression": "SET #st = :open, assignee = :a, members = :m, gsi2pk = :g2, assignee_name = :an",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#st": "status"}, "ExpressionAttributeValues": _item(values)}}]
        items.append({"Put": {"TableName": self.table, "Item": _item(_membership_item(new, operator_id))}})
        items += [self._assignment_put(new, operator_id), self._load_update(ch.tenant, operator_id, 1, now_ms)]
        if ch.assignee and ch.status == "open":
            items += [self._assignment_delete(ch, ch.assignee), self._load_update(ch.tenant, ch.assignee, -1, now_ms)]
        self._transact(items, conflict="the channel changed meanwhile")
        return new

    def requeue_channel(self, ch: Channel, *, now_ms: int) -> Channel:
        """The assignee went away: back to the queue (they stay a member, for the history)."""
        if not ch.assignee:
            raise Conflict("the channel has no assignee")
        new = replace(ch, status="queued", assignee=None, assignee_name=None)
        items: list[Any] = [{"Update": {
            "TableName": self.table, "Key": _item({"pk": f"CH#{ch.id}", "sk": "META"}),
            "UpdateExpression": "SET #st = :q, gsi2pk = :g2 REMOVE assignee, assignee_name",
            "ConditionExpression": "#st = :open AND assignee = :a",
            "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": _item({":q": "queued", ":open": "open", ":a": ch.assignee,
                                                ":g2": _status_gsi(new)})}},
            self._assignment_delete(ch, ch.assignee), self._load_update(ch.tenant, ch.assignee, -1, now_ms)]
        self._transact(items, conflict="the channel changed meanwhile")
        return new

    def close_channel(self, ch: Channel, *, now_ms: int) -> Channel:
        """Status ``closed`` (conditional on not being closed already), out of the status lists,
        the visitor's open-support pointer gone, the assignee's load down."""
        new = replace(ch, status="closed", closed_at=now_ms)
        condition = "#st = :was" + (" AND assignee = :a" if ch.assignee else " AND attribute_not_exists(assignee)")
        values: dict[str, Any] = {":closed": "closed", ":now": now_ms, ":was": ch.status}
        if ch.assignee:
            values[":a"] = ch.assignee
        items: list[Any] = [{"Update": {
            "TableName": self.table, "Key": _item({"pk": f"CH#{ch.id}", "sk": "META"}),
            "UpdateExpression": "SET #st = :closed, closed_at = :now REMOVE gsi2pk",
            "ConditionExpression": condition, "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": _item(values)}}]
        if ch.visitor and ch.type == "support":
            items.append({"Delete": {"TableName": self.table,
                                     "Key": _item({"pk": _session_pk(ch.tenant, ch.visitor), "sk": "SUPPORT"})}})
        if ch.assignee and ch.type == "support" and ch.status == "open":
            items += [self._assignment_delete(ch, ch.assignee), self._load_update(ch.tenant, ch.assignee, -1, now_ms)]
        self._transact(items, conflict="the channel changed meanwhile")
        return new

    def assigned_channel_ids(self, tenant: str, operator_id: str) -> list[str]:
        """Open support channels assigned to an operator: Query ``U#<tid>#<uid>`` begins_with ``A#``
        (one item per current assignment, so it grows with their open channels only)."""
        return [r["channel_id"] for r in self._query(_session_pk(tenant, operator_id), "A#", consistent=True)]

    def query_channels(self, index_pk: str, *, limit: int, cursor: dict[str, Any] | None,
                       ) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        """A page of GSI2 (newest activity first) and whether more follow.

        GSI2 lists: ``ST#<tid>#queued`` / ``ST#<tid>#open`` (a tenant's support channels by
        status, on the channel item), ``MEM#<tid>#<uid>`` (a user's channels, on the membership
        items) and ``ASG#<tid>#<uid>`` (an operator's open assignments). ``gsi2sk`` is
        ``<last activity ms, 15 digits>#<channel id>``. The index projects keys only, so each
        entry is (channel id, its index key - a cursor that resumes right after it).
        """
        kwargs: dict[str, Any] = {"ExclusiveStartKey": _item(cursor)} if cursor else {}
        try:
            # one more than the page: DynamoDB returns a LastEvaluatedKey whenever a Query stops
            # at its Limit, even with nothing after it, so that key cannot say whether more
            # follow; the extra entry can (and is not returned: the next page starts with it)
            resp = self.client.query(TableName=self.table, IndexName="GSI2", KeyConditionExpression="gsi2pk = :p",
                                     ExpressionAttributeValues=_item({":p": index_pk}), ScanIndexForward=False,
                                     Limit=limit + 1, **kwargs)
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc
        entries = []
        for raw in resp.get("Items", []):
            key = _read(raw)
            entries.append((key["gsi2sk"].split("#", 1)[1], key))
        return entries[:limit], len(entries) > limit

    # -- messages -------------------------------------------------------------------
    def put_message(self, ch: Channel, m: Message) -> Message:
        """Store a message once per (sender, client_id): durable before anyone hears of it.

        One transaction writes the client-id record ``CH#<chid>`` / ``CID#<uid>#<client id>``
        (conditional: first writer wins), the message ``MSG#<mid>``, the channel's activity
        time (conditional: not closed) and the list orderings of each member (and of the
        assignee's assignment). A retry with the same client_id - even concurrent - gets the
        stored message back, never a second copy.
        """
        sort = _activity_sort(m.created_at, ch.id)
        msg_item = _message_item(m)
        items: list[Any] = [
            {"Put": {"TableName": self.table, "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": _item({**msg_item, "sk": f"CID#{m.sender_id}#{m.client_id}"})}},
            {"Put": {"TableName": self.table, "Item": _item(msg_item)}},
            {"Update": {"TableName": self.table, "Key": _item({"pk": f"CH#{ch.id}", "sk": "META"}),
                        "UpdateExpression": "SET last_message_at = :t, gsi2sk = :s",
                        "ConditionExpression": "attribute_exists(pk) AND #st <> :closed",
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": _item({":t": m.created_at, ":s": sort, ":closed": "closed"})}},
        ]
        keys = [{"pk": _session_pk(ch.tenant, u), "sk": f"M#{ch.id}"} for u in ch.members]
        if ch.type == "support" and ch.status == "open" and ch.assignee:
            keys.append({"pk": _session_pk(ch.tenant, ch.assignee), "sk": f"A#{ch.id}"})
        items += [{"Update": {"TableName": self.table, "Key": _item(k), "UpdateExpression": "SET gsi2sk = :s",
                              "ConditionExpression": "attribute_exists(pk)",
                              "ExpressionAttributeValues": _item({":s": sort})}} for k in keys]
        for attempt in range(3):
            try:
                self.client.transact_write_items(TransactItems=items)
                return m
            except ClientError as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    existing = self.get_message_by_client_id(ch.id, m.sender_id, m.client_id)
                    if existing:
                        return existing  # a retry: the message stored the first time
                if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                    raise Conflict("the channel is closed") from exc
                if "ConditionalCheckFailed" in reasons[3:]:
                    raise Conflict("the channel changed meanwhile") from exc  # an assignment just ended
                # TransactionConflict: a concurrent transaction touched the same items (another
                # message to this channel); DynamoDB asks us to retry, and botocore does not.
                if "TransactionConflict" in reasons and attempt < 2:
                    continue
                raise Unavailable("storage unavailable") from exc
        raise Unavailable("storage unavailable")

    def get_message_by_client_id(self, channel_id: str, sender_id: str, client_id: str) -> Message | None:
        raw = self._get(f"CH#{channel_id}", f"CID#{sender_id}#{client_id}", consistent=True)
        return _message(raw) if raw else None

    def get_message(self, channel_id: str, message_id: str) -> Message | None:
        raw = self._get(f"CH#{channel_id}", f"MSG#{message_id}", consistent=True)
        return _message(raw) if raw else None

    def list_messages(self, channel_id: str, *, before: str | None, limit: int) -> tuple[list[Message], bool]:
        """The newest ``limit`` messages older than ``before`` (a message id), oldest first, and
        whether older ones remain: one Query of ``CH#<chid>`` between ``MSG#`` and ``MSG#<before>``,
        newest first. (BETWEEN is inclusive, so one more is asked for and ``before`` dropped.)"""
        hi = f"MSG#{before}" if before else "MSG#~"  # '~' sorts after every id character
        try:
            resp = self.client.query(
                TableName=self.table, KeyConditionExpression="pk = :p AND sk BETWEEN :lo AND :hi",
                ConsistentRead=True, ScanIndexForward=False, Limit=limit + 1 + (1 if before else 0),
                ExpressionAttributeValues=_item({":p": f"CH#{channel_id}", ":lo": "MSG#", ":hi": hi}))
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc
        messages = [m for m in (_message(_read(i)) for i in resp.get("Items", [])) if m.id != before]
        more = len(messages) > limit or "LastEvaluatedKey" in resp
        page = messages[:limit]
        page.reverse()
        return page, more

    def all_messages(self, channel_id: str) -> Iterator[Message]:
        """Every message of a channel in order (the transcript): Query ``CH#<chid>`` begins_with ``MSG#``."""
        return (_message(r) for r in self._query(f"CH#{channel_id}", "MSG#", consistent=True))

    def mark_archived(self, channel_id: str, read_at_ms: int) -> None:
        """``archived_at``: the transcript just written read the messages at ``read_at_ms``
        (only ever moves forward: a slower writer that read earlier does not move it back)."""
        self._conditional_update(f"CH#{channel_id}", "META", "SET archived_at = :t", {":t": read_at_ms},
                                 condition="attribute_exists(pk) AND (attribute_not_exists(archived_at) "
                                           "OR archived_at < :t)")

    def mark_deleted_after_close(self, channel_id: str, at_ms: int) -> None:
        """``last_deleted_at``: a message of this closed channel was deleted at ``at_ms``."""
        self._conditional_update(f"CH#{channel_id}", "META", "SET last_deleted_at = :t", {":t": at_ms},
                                 condition="attribute_exists(pk)")

    def mark_message_deleted(self, m: Message) -> Message:
        """Replace the message and its client-id record with a tombstone (no text, no attachments):
        a retry of its client_id must not bring the deleted text back."""
        deleted = replace(m, text="", attachments=(), deleted=True)
        item = _message_item(deleted)
        self._transact([
            {"Put": {"TableName": self.table, "Item": _item(item)}},
            {"Put": {"TableName": self.table, "Item": _item({**item, "sk": f"CID#{m.sender_id}#{m.client_id}"})}},
        ])
        return deleted

    def put_read_marker(self, channel_id: str, user_id: str, message_id: str, now_ms: int) -> None:
        """``CH#<chid>`` / ``R#<uid>``: the newest message a user has read (only ever moves forward)."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=_item({"pk": f"CH#{channel_id}", "sk": f"R#{user_id}", "message_id": message_id, "at": now_ms}),
                ConditionExpression="attribute_not_exists(pk) OR message_id < :m",
                ExpressionAttributeValues=_item({":m": message_id}))
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise Unavailable("storage unavailable") from exc

    # -- watchers -------------------------------------------------------------------
    def add_watcher(self, channel_id: str, conn: Connection) -> None:
        """``CH#<chid>`` / ``W#<cid>`` (fan-out reads these) and ``C#<cid>`` / ``W#<chid>`` (disconnect
        deletes both), with the connection's expiry as TTL."""
        self._batch_put([
            {"pk": f"CH#{channel_id}", "sk": f"W#{conn.id}", "connection_id": conn.id, "user_id": conn.user_id,
             "role": conn.role, "expires_at": conn.expires_at, "ttl": conn.expires_at},
            {"pk": f"C#{conn.id}", "sk": f"W#{channel_id}", "channel_id": channel_id, "ttl": conn.expires_at},
        ])

    def list_watchers(self, channel_id: str, *, now: int) -> list[Watcher]:
        """Connections watching a channel: one consistent Query of ``CH#<chid>`` begins_with ``W#``
        - it grows with the channel's watchers only. Expired ones (stale) are left out."""
        return [Watcher(connection_id=r["connection_id"], user_id=r.get("user_id", ""), role=r.get("role", ""))
                for r in self._query(f"CH#{channel_id}", "W#", consistent=True) if r.get("expires_at", now + 1) > now]

    def remove_watches(self, connection_ids: Iterable[str]) -> None:
        """Unsubscribe connections from every channel (their chat:read was revoked)."""
        keys: list[dict[str, str]] = []
        for cid in connection_ids:
            for r in self._query(f"C#{cid}", "W#", consistent=True):
                keys += [{"pk": f"C#{cid}", "sk": f"W#{r['channel_id']}"}, {"pk": f"CH#{r['channel_id']}",
                                                                           "sk": f"W#{cid}"}]
        self._batch_delete(keys)

    def _transact(self, items: list[Any], *, conflict: str = "the resource changed meanwhile") -> None:
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _conditional_failed(exc):
                raise Conflict(conflict) from exc
            raise Unavailable("storage unavailable") from exc

    def _batch_put(self, values: list[dict[str, Any]]) -> None:
        self._batch_write([{"PutRequest": {"Item": _item(v)}} for v in values])

    def _batch_delete(self, keys: list[dict[str, str]]) -> None:
        self._batch_write([{"DeleteRequest": {"Key": _item(k)}} for k in keys])

    def _batch_write(self, requests: list[Any]) -> None:
        """BatchWriteItem in chunks of 25, asking again for unprocessed items (BatchWrite's contract)."""
        for start in range(0, len(requests), 25):
            pending: Any = {self.table: requests[start:start + 25]}
            for attempt in range(6):
                try:
                    resp = self.client.batch_write_item(RequestItems=pending)
                except ClientError as exc:
                    raise Unavailable("storage unavailable") from exc
                pending = resp.get("UnprocessedItems") or None
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise Unavailable("storage unavailable")

    # -- audit -----------------------------------------------------------------
    def put_event(self, e: AuditEvent, *, ttl: int) -> None:
        self._put(_event_item(e, ttl))

    def list_events(
        self, tenant_id: str, *, limit: int, after: str | None = None
    ) -> tuple[list[AuditEvent], str | None]:
        kwargs: dict[str, Any] = {}
        if after:
            kwargs["ExclusiveStartKey"] = _item({"pk": f"T#{tenant_id}#EV", "sk": after})
        try:
            resp = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues=_item({":p": f"T#{tenant_id}#EV"}),
                ScanIndexForward=False,
                Limit=limit + 1,  # one more than the page: see query_channels
                **kwargs,
            )
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc
        items = [_read(i) for i in resp.get("Items", [])]
        page = items[:limit]
        return [_event(i) for i in page], (page[-1]["sk"] if len(items) > limit else None)

    # -- primitives ------------------------------------------------------------
    def _get(self, pk: str, sk: str, *, consistent: bool = False) -> dict[str, Any] | None:
        try:
            resp = self.client.get_item(
                TableName=self.table, Key=_item({"pk": pk, "sk": sk}), ConsistentRead=consistent
            )
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc
        item = resp.get("Item")
        return _read(item) if item else None

    def _put(self, values: dict[str, Any]) -> None:
        try:
            self.client.put_item(TableName=self.table, Item=_item(values))
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc

    def _update(
        self, pk: str, sk: str, expression: str, values: dict[str, Any], *, condition: str | None = None
    ) -> None:
        kwargs: dict[str, Any] = {"ConditionExpression": condition} if condition else {}
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_item({"pk": pk, "sk": sk}),
                UpdateExpression=expression,
                ExpressionAttributeValues=_item(values),
                **kwargs,
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise NotFound("not found") from exc
            raise Unavailable("storage unavailable") from exc

    def _conditional_update(self, pk: str, sk: str, expression: str, values: dict[str, Any], *,
                            condition: str) -> bool:
        """An UpdateItem that answers False, not an error, when its condition does not hold."""
        try:
            self.client.update_item(TableName=self.table, Key=_item({"pk": pk, "sk": sk}),
                                    UpdateExpression=expression, ConditionExpression=condition,
                                    ExpressionAttributeValues=_item(values))
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise Unavailable("storage unavailable") from exc
        return True

    def _query(self, pk: str, prefix: str, *, consistent: bool = False) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        while True:
            try:
                resp = self.client.query(
                    TableName=self.table,
                    ConsistentRead=consistent,
                    KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                    ExpressionAttributeValues=_item({":p": pk, ":s": prefix}),
                    **kwargs,
                )
            except ClientError as exc:
                raise Unavailable("storage unavailable") from exc
            yield from (_read(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # -- chat action limits (chat_limits.py) -----------------------------------------
    def hit_action_counter(self, tenant: str, user_id: str, connection_id: str, kind: str, *,
                           now: int, window: int) -> tuple[int, int]:
        """Count one chat action of ``kind``: returns (the user's count, this connection's count)
        in the current window of ``window`` seconds.

        ``RL#ws#<tid>#<uid>`` / ``<kind>#<window start>``: one UpdateItem ADDs 1 to the user's
        ``n`` and to the connection's ``c#<cid>`` in the same item, so both limits cost one
        write (the item holds at most as many connections as a user may open: small, one WCU).
        Atomic, so every Lambda container shares the counts and concurrent actions are all
        counted; a new window is a new item, so nothing is ever reset; TTL'd.
        """
        start = now - now % window
        try:
            resp = self.client.update_item(
                TableName=self.table, Key=_item({"pk": f"RL#ws#{tenant}#{user_id}", "sk": f"{kind}#{start}"}),
                UpdateExpression="ADD n :one, #c :one SET #ttl = if_not_exists(#ttl, :ttl)",
                ExpressionAttributeNames={"#c": f"c#{connection_id}", "#ttl": "ttl"},
                ExpressionAttributeValues=_item({":one": 1, ":ttl": start + window + 3600}),
                ReturnValues="UPDATED_NEW")
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc
        got = _read(resp["Attributes"])
        return int(got["n"]), int(got[f"c#{connection_id}"])


def _operator_item(op: Operator) -> dict[str, Any]:
    return {
        "pk": f"T#{op.tenant}",
        "sk": f"OP#{op.id}",
        "tenant": op.tenant,
        "user_id": op.id,
        "email": op.email,
        "name": op.name,
        "role": op.role,
        "password_hash": op.password_hash,
        "blocked": op.blocked,
        "created_at": op.created_at,
        "totp_secret": op.totp_secret,
        "totp_enabled": op.totp_enabled,
        "totp_last_step": op.totp_last_step,
        "totp_pending": op.totp_pending,
    }


def _operator(r: dict[str, Any]) -> Operator:
    return Operator(
        tenant=r["tenant"],
        id=r["user_id"],
        email=r["email"],
        name=r.get("name", ""),
        role=r["role"],
        password_hash=r.get("password_hash"),
        blocked=bool(r.get("blocked", False)),
        created_at=r.get("created_at", 0),
        totp_secret=r.get("totp_secret"),
        totp_enabled=bool(r.get("totp_enabled", False)),
        totp_last_step=r.get("totp_last_step", 0),
        totp_pending=r.get("totp_pending"),
    )


def _event_item(e: AuditEvent, ttl: int) -> dict[str, Any]:
    return {
        "pk": f"T#{e.tenant}#EV",
        "sk": e.id,
        "tenant": e.tenant,
        "kind": e.kind,
        "at": e.at,
        "actor": e.actor,
        "subject": e.subject,
        "session_id": e.session_id,
        "detail": e.detail,
        "ttl": ttl,
    }


def _session_item(s: Session) -> dict[str, Any]:
    return {
        "pk": _session_pk(s.tenant, s.user_id),
        "sk": f"S#{s.id}",
        "gsi1pk": f"SID#{s.id}",
        "gsi1sk": "SESSION",
        "tenant": s.tenant,
        "user_id": s.user_id,
        "session_id": s.id,
        "role": s.role,
        "lvl": s.lvl,
        "anon": s.anon,
        "name": s.name,
        "scopes": set(s.scopes) or None,
        "method": s.method,
        "device": s.device,
        "created_at": s.created_at,
        "last_used_at": s.last_used_at,
        "idle_expires_at": s.idle_expires_at,
        "expires_at": s.expires_at,
        "status": s.status,
        "refresh_gen": s.refresh_gen,
        "email": s.email,
        "ttl": s.expires_at + 86400,
    }


def _session(r: dict[str, Any]) -> Session:
    return Session(
        tenant=r["tenant"],
        user_id=r["user_id"],
        id=r["session_id"],
        role=r["role"],
        lvl=r["lvl"],
        anon=bool(r["anon"]),
        name=r.get("name", ""),
        scopes=frozenset(r.get("scopes", ())),
        method=r.get("method", ""),
        device=r.get("device", ""),
        created_at=r["created_at"],
        last_used_at=r.get("last_used_at", r["created_at"]),
        idle_expires_at=r["idle_expires_at"],
        expires_at=r["expires_at"],
        status=r.get("status", "live"),
        refresh_gen=r.get("refresh_gen", 0),
        email=r.get("email"),
    )


def _event(r: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        tenant=r["tenant"],
        id=r["sk"],
        kind=r["kind"],
        at=r["at"],
        actor=r.get("actor"),
        subject=r.get("subject"),
        session_id=r.get("session_id"),
        detail=r.get("detail", {}),
    )


def _activity_sort(ms: int, channel_id: str) -> str:
    return f"{ms:015d}#{channel_id}"


def _ops_pk(tenant: str) -> str:
    return f"T#{tenant}#OPS"


def _status_gsi(ch: Channel) -> str | None:
    """Support channels are listed per tenant and status; team channels only per member."""
    return f"ST#{ch.tenant}#{ch.status}" if ch.type == "support" and ch.status != "closed" else None


def _channel_item(ch: Channel) -> dict[str, Any]:
    return {"pk": f"CH#{ch.id}", "sk": "META", "channel_id": ch.id, "tenant": ch.tenant, "type": ch.type,
            "status": ch.status, "subject": ch.subject, "members": list(ch.members), "assignee": ch.assignee,
            "visitor": ch.visitor, "created_at": ch.created_at, "last_message_at": ch.last_message_at,
            "name": ch.name, "assignee_name": ch.assignee_name, "gsi2pk": _status_gsi(ch),
            "gsi2sk": _activity_sort(ch.last_message_at, ch.id)}


def _channel(r: dict[str, Any]) -> Channel:
    return Channel(id=r["channel_id"], tenant=r["tenant"], type=r["type"], status=r["status"], subject=r.get("subject"),
                   members=tuple(r.get("members", ())), assignee=r.get("assignee"), visitor=r.get("visitor"),
                   created_at=r["created_at"], last_message_at=r.get("last_message_at", r["created_at"]),
                   name=r.get("name"), assignee_name=r.get("assignee_name"),
                   closed_at=_int_or_none(r.get("closed_at")), archived_at=_int_or_none(r.get("archived_at")),
                   last_deleted_at=_int_or_none(r.get("last_deleted_at")))


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None


def _membership_item(ch: Channel, user_id: str) -> dict[str, Any]:
    return {"pk": _session_pk(ch.tenant, user_id), "sk": f"M#{ch.id}", "channel_id": ch.id, "tenant": ch.tenant,
            "gsi2pk": f"MEM#{ch.tenant}#{user_id}", "gsi2sk": _activity_sort(ch.last_message_at, ch.id)}


def _assignment_item(ch: Channel, operator_id: str) -> dict[str, Any]:
    return {"pk": _session_pk(ch.tenant, operator_id), "sk": f"A#{ch.id}", "channel_id": ch.id, "tenant": ch.tenant,
            "gsi2pk": f"ASG#{ch.tenant}#{operator_id}", "gsi2sk": _activity_sort(ch.last_message_at, ch.id)}


def _message_item(m: Message) -> dict[str, Any]:
    return {"pk": f"CH#{m.channel_id}", "sk": f"MSG#{m.id}", "message_id": m.id, "channel_id": m.channel_id,
            "sender_id": m.sender_id, "sender_role": m.sender_role, "sender_name": m.sender_name, "text": m.text,
            "attachments": list(m.attachments), "client_id": m.client_id, "created_at": m.created_at,
            "deleted": m.deleted}


def _message(r: dict[str, Any]) -> Message:
    return Message(id=r["message_id"], channel_id=r["channel_id"], sender_id=r["sender_id"],
                   sender_role=r["sender_role"], sender_name=r.get("sender_name", ""), text=r.get("text", ""),
                   attachments=tuple(r.get("attachments", ())), client_id=r["client_id"], created_at=r["created_at"],
                   deleted=bool(r.get("deleted", False)))


def _connection_item(c: Connection) -> dict[str, Any]:
    return {"pk": f"C#{c.id}", "sk": "CONN", "connection_id": c.id, "tenant": c.tenant, "user_id": c.user_id,
            "session_id": c.session_id, "role": c.role, "lvl": c.lvl, "name": c.name, "scopes": set(c.scopes) or None,
            "connected_at": c.connected_at, "expires_at": c.expires_at, "ttl": c.expires_at}


def _connection(r: dict[str, Any]) -> Connection:
    return Connection(id=r["connection_id"], tenant=r["tenant"], user_id=r["user_id"], session_id=r["session_id"],
                      role=r["role"], lvl=r["lvl"], name=r.get("name", ""), scopes=frozenset(r.get("scopes", ())),
                      connected_at=r["connected_at"], expires_at=r["expires_at"])


def _session_check(table: str, c: Connection, now: int) -> dict[str, Any]:
    """ConditionCheck: the connection's session is live and holds every scope the connection has."""
    condition = "#st = :live AND expires_at > :now AND idle_expires_at > :now"
    values: dict[str, Any] = {":live": "live", ":now": now}
    for i, scope in enumerate(sorted(c.scopes)):
        condition += f" AND contains(scopes, :s{i})"
        values[f":s{i}"] = scope
    return {"ConditionCheck": {
        "TableName": table, "Key": _item({"pk": _session_pk(c.tenant, c.user_id), "sk": f"S#{c.session_id}"}),
        "ConditionExpression": condition, "ExpressionAttributeNames": {"#st": "status"},
        "ExpressionAttributeValues": _item(values), "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}


def make_store(table: str) -> Store:
    return Store(table)


def now() -> int:
    return int(time.time())
