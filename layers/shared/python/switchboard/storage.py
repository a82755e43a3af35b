"""The one door to DynamoDB. Nothing else in Switchboard imports boto3's DynamoDB.

Single-table design. Every access pattern is written beside the key it uses:

======================  ==========================  ====================  ==========================================
item                    pk                          sk                    access patterns
======================  ==========================  ====================  ==========================================
tenant                  ``T#<tid>``                 ``TENANT``            GetItem by tenant id (every sign-in)
operator                ``T#<tid>``                 ``OP#<uid>``          GetItem by id; Query begins_with ``OP#``
                                                                          lists a tenant's operators
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
session by id           GSI1 ``SID#<sid>``          ``SESSION``           an admin revoking a session by id alone
                                                                          (KEYS_ONLY projection, then GetItem)
audit event             ``T#<tid>#EV``              ``<time-ordered id>`` Query newest first (ScanIndexForward off)
======================  ==========================  ====================  ==========================================

Expiring items carry ``ttl`` (epoch seconds) so DynamoDB deletes them; reads still check
expiry themselves because TTL deletion lags. No request path uses Scan.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from switchboard.errors import Conflict, NotFound, Unavailable
from switchboard.models import AuditEvent, Operator, Session, SessionKey, Tenant

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["RotationRefused", "Store", "dynamodb_client", "make_store"]

_ser = TypeSerializer()
_de = TypeDeserializer()
REFRESH_SLOTS = 32  # how many rotated refresh-token hashes a session remembers (see rotate_refresh)
TRANSACT_MAX = 100


class RotationRefused(Exception):
    """The conditional rotation failed; ``session`` is the item as it was (None if absent),
    ``used_hash`` the remembered hash for the presented generation, if any."""

    def __init__(self, session: Session | None, used_hash: str | None) -> None:
        super().__init__("refresh rotation refused")
        self.session = session
        self.used_hash = used_hash


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
    return exc.response.get("Error", {}).get("Code") in ("ConditionalCheckFailedException", "TransactionCanceledException")


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    """One client per container. Timeouts are short: a Lambda answering a browser should
    fail fast and let the client retry rather than hang."""
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client("dynamodb", config=config)


def _session_pk(tenant: str, user_id: str) -> str:
    return f"U#{tenant}#{user_id}"


class Store:
    """Typed operations on the table. Converts AWS errors into domain errors."""

    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = dynamodb_client()
        return self._client

    # -- tenants ---------------------------------------------------------------
    def get_tenant(self, tenant_id: str) -> Tenant | None:
        raw = self._get(f"T#{tenant_id}", "TENANT")
        if raw is None:
            return None
        return Tenant(id=raw["tenant"], name=raw.get("name", raw["tenant"]), identity_secret=raw["identity_secret"],
                      hook_secret=raw.get("hook_secret", ""), allowed_origins=tuple(raw.get("allowed_origins", [])),
                      visitor_attachments=bool(raw.get("visitor_attachments", False)), widget=raw.get("widget", {}),
                      claims=raw.get("claims", {}), deny_email_domains=tuple(raw.get("deny_email_domains", [])))

    def put_tenant(self, tenant: Tenant) -> None:
        self._put({"pk": f"T#{tenant.id}", "sk": "TENANT", "tenant": tenant.id, "name": tenant.name,
                   "identity_secret": tenant.identity_secret, "hook_secret": tenant.hook_secret,
                   "allowed_origins": list(tenant.allowed_origins), "visitor_attachments": tenant.visitor_attachments,
                   "widget": dict(tenant.widget), "claims": dict(tenant.claims),
                   "deny_email_domains": list(tenant.deny_email_domains)})

    # -- operators -------------------------------------------------------------
    def get_operator_by_email(self, tenant_id: str, email: str) -> Operator | None:
        pointer = self._get(f"T#{tenant_id}", f"EMAIL#{email.lower()}")
        return self.get_operator(tenant_id, pointer["user_id"]) if pointer else None

    def get_operator(self, tenant_id: str, user_id: str) -> Operator | None:
        raw = self._get(f"T#{tenant_id}", f"OP#{user_id}")
        return _operator(raw) if raw else None

    def list_operators(self, tenant_id: str) -> list[Operator]:
        return [_operator(r) for r in self._query(f"T#{tenant_id}", "OP#")]

    def create_operator(self, op: Operator) -> None:
        """Operator and its email pointer in one transaction: an email is unique per tenant."""
        try:
            self.client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table, "Item": _item(_operator_item(op)),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"TableName": self.table,
                         "Item": _item({"pk": f"T#{op.tenant}", "sk": f"EMAIL#{op.email.lower()}", "user_id": op.id}),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
            ])
        except ClientError as exc:
            if _conditional_failed(exc):
                raise Conflict("an operator with this email already exists") from exc
            raise Unavailable("storage unavailable") from exc

    def put_operator(self, op: Operator) -> None:
        """Upsert (seeding): writes the operator and its email pointer."""
        self._put(_operator_item(op))
        self._put({"pk": f"T#{op.tenant}", "sk": f"EMAIL#{op.email.lower()}", "user_id": op.id})

    def set_password_hash(self, tenant_id: str, user_id: str, password_hash: str) -> None:
        self._update(f"T#{tenant_id}", f"OP#{user_id}", "SET password_hash = :h", {":h": password_hash},
                     condition="attribute_exists(pk)")

    # -- sessions --------------------------------------------------------------
    def create_session(self, s: Session, refresh_hash: str) -> None:
        item = _session_item(s)
        item["rt_hash"] = refresh_hash
        try:
            self.client.put_item(TableName=self.table, Item=_item(item), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _conditional_failed(exc):
                raise Conflict("session id collision") from exc
            raise Unavailable("storage unavailable") from exc

    def get_session(self, key: SessionKey) -> Session | None:
        raw = self._get(_session_pk(key.tenant, key.user_id), f"S#{key.session_id}", consistent=True)
        return _session(raw) if raw else None

    def find_session_key(self, session_id: str) -> SessionKey | None:
        """GSI1 lookup by session id alone (eventually consistent; callers re-read the item)."""
        try:
            resp = self.client.query(TableName=self.table, IndexName="GSI1",
                                     KeyConditionExpression="gsi1pk = :p",
                                     ExpressionAttributeValues=_item({":p": f"SID#{session_id}"}), Limit=1)
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc
        for raw in resp.get("Items", []):
            r = _read(raw)
            _, tenant, user_id = r["pk"].split("#", 2)
            return SessionKey(tenant, user_id, session_id)
        return None

    def list_sessions(self, tenant_id: str, user_id: str) -> list[Session]:
        return [_session(r) for r in self._query(_session_pk(tenant_id, user_id), "S#", consistent=True)]

    def rotate_refresh(self, key: SessionKey, *, gen: int, presented_hash: str, new_hash: str, now: int,
                       idle_until: int) -> Session:
        """Rotate the refresh token in one conditional write.

        Succeeds only if the presented hash is the session's current one, for the
        generation the token names, and the session is live. The rotated hash is kept in
        slot ``gen % REFRESH_SLOTS`` so that a later replay of it is recognised as reuse
        (theft) rather than as a random guess, with a bounded item size. On failure the
        old item comes back with the same call (ReturnValuesOnConditionCheckFailure).
        """
        slot = f"u{gen % REFRESH_SLOTS}"
        try:
            resp = self.client.update_item(
                TableName=self.table, Key=_item({"pk": _session_pk(key.tenant, key.user_id), "sk": f"S#{key.session_id}"}),
                UpdateExpression="SET rt_hash = :new, refresh_gen = :next, #slot = :old, last_used_at = :now, "
                                 "idle_expires_at = :idle",
                ConditionExpression="rt_hash = :old AND refresh_gen = :gen AND #st = :live "
                                    "AND expires_at > :now AND idle_expires_at > :now",
                ExpressionAttributeNames={"#slot": slot, "#st": "status"},
                ExpressionAttributeValues=_item({":new": new_hash, ":old": presented_hash, ":gen": gen, ":next": gen + 1,
                                                 ":now": now, ":idle": idle_until, ":live": "live"}),
                ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise Unavailable("storage unavailable") from exc
            old = exc.response.get("Item")
            if not old:
                raise RotationRefused(None, None) from exc
            raw = _read(old)
            raise RotationRefused(_session(raw), raw.get(slot)) from exc
        return _session(_read(resp["Attributes"]))

    def revoke_sessions(self, sessions: Iterable[SessionKey], *, reason: str, now: int) -> None:
        """Mark sessions revoked, in transactions of up to 100 (all of a user's at once)."""
        self._transact_updates(
            sessions, "SET #st = :revoked, revoked_at = :now, revoked_reason = :why REMOVE rt_hash",
            {"#st": "status"}, {":revoked": "revoked", ":now": now, ":why": reason},
        )

    def revoke_scopes(self, sessions: Iterable[SessionKey], scopes: frozenset[str]) -> None:
        """Remove scopes from each session's current set (DELETE on a string set)."""
        self._transact_updates(sessions, "DELETE scopes :gone", {}, {":gone": set(scopes)})

    def _transact_updates(self, keys: Iterable[SessionKey], expression: str, names: dict[str, str],
                          values: dict[str, Any]) -> None:
        updates = [{"Update": {
            "TableName": self.table,
            "Key": _item({"pk": _session_pk(k.tenant, k.user_id), "sk": f"S#{k.session_id}"}),
            "UpdateExpression": expression, "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": _item(values), **({"ExpressionAttributeNames": names} if names else {}),
        }} for k in keys]
        for start in range(0, len(updates), TRANSACT_MAX):
            try:
                self.client.transact_write_items(TransactItems=updates[start:start + TRANSACT_MAX])  # type: ignore[typeddict-item]
            except ClientError as exc:
                if _conditional_failed(exc):
                    raise NotFound("session not found") from exc
                raise Unavailable("storage unavailable") from exc

    # -- audit -----------------------------------------------------------------
    def put_event(self, e: AuditEvent, *, ttl: int) -> None:
        self._put({"pk": f"T#{e.tenant}#EV", "sk": e.id, "tenant": e.tenant, "kind": e.kind, "at": e.at,
                   "actor": e.actor, "subject": e.subject, "session_id": e.session_id, "detail": e.detail, "ttl": ttl})

    def list_events(self, tenant_id: str, *, limit: int, after: str | None = None) -> tuple[list[AuditEvent], str | None]:
        kwargs: dict[str, Any] = {}
        if after:
            kwargs["ExclusiveStartKey"] = _item({"pk": f"T#{tenant_id}#EV", "sk": after})
        try:
            resp = self.client.query(TableName=self.table, KeyConditionExpression="pk = :p",
                                     ExpressionAttributeValues=_item({":p": f"T#{tenant_id}#EV"}),
                                     ScanIndexForward=False, Limit=limit, **kwargs)
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc
        events = [_event(_read(i)) for i in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        return events, (_read(last)["sk"] if last else None)

    # -- primitives ------------------------------------------------------------
    def _get(self, pk: str, sk: str, *, consistent: bool = False) -> dict[str, Any] | None:
        try:
            resp = self.client.get_item(TableName=self.table, Key=_item({"pk": pk, "sk": sk}), ConsistentRead=consistent)
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc
        item = resp.get("Item")
        return _read(item) if item else None

    def _put(self, values: dict[str, Any]) -> None:
        try:
            self.client.put_item(TableName=self.table, Item=_item(values))
        except ClientError as exc:
            raise Unavailable("storage unavailable") from exc

    def _update(self, pk: str, sk: str, expression: str, values: dict[str, Any], *, condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"ConditionExpression": condition} if condition else {}
        try:
            self.client.update_item(TableName=self.table, Key=_item({"pk": pk, "sk": sk}), UpdateExpression=expression,
                                    ExpressionAttributeValues=_item(values), **kwargs)
        except ClientError as exc:
            if _conditional_failed(exc):
                raise NotFound("not found") from exc
            raise Unavailable("storage unavailable") from exc

    def _query(self, pk: str, prefix: str, *, consistent: bool = False) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        while True:
            try:
                resp = self.client.query(TableName=self.table, ConsistentRead=consistent,
                                         KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                                         ExpressionAttributeValues=_item({":p": pk, ":s": prefix}), **kwargs)
            except ClientError as exc:
                raise Unavailable("storage unavailable") from exc
            yield from (_read(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _operator_item(op: Operator) -> dict[str, Any]:
    return {"pk": f"T#{op.tenant}", "sk": f"OP#{op.id}", "tenant": op.tenant, "user_id": op.id, "email": op.email,
            "name": op.name, "role": op.role, "password_hash": op.password_hash, "blocked": op.blocked,
            "created_at": op.created_at, "totp_secret": op.totp_secret, "totp_enabled": op.totp_enabled,
            "totp_last_step": op.totp_last_step}


def _operator(r: dict[str, Any]) -> Operator:
    return Operator(tenant=r["tenant"], id=r["user_id"], email=r["email"], name=r.get("name", ""), role=r["role"],
                    password_hash=r.get("password_hash"), blocked=bool(r.get("blocked", False)),
                    created_at=r.get("created_at", 0), totp_secret=r.get("totp_secret"),
                    totp_enabled=bool(r.get("totp_enabled", False)), totp_last_step=r.get("totp_last_step", 0))


def _session_item(s: Session) -> dict[str, Any]:
    return {"pk": _session_pk(s.tenant, s.user_id), "sk": f"S#{s.id}", "gsi1pk": f"SID#{s.id}", "gsi1sk": "SESSION",
            "tenant": s.tenant, "user_id": s.user_id, "session_id": s.id, "role": s.role, "lvl": s.lvl, "anon": s.anon,
            "name": s.name, "scopes": set(s.scopes) or None, "method": s.method, "device": s.device,
            "created_at": s.created_at, "last_used_at": s.last_used_at, "idle_expires_at": s.idle_expires_at,
            "expires_at": s.expires_at, "status": s.status, "refresh_gen": s.refresh_gen, "email": s.email,
            "ttl": s.expires_at + 86400}


def _session(r: dict[str, Any]) -> Session:
    return Session(tenant=r["tenant"], user_id=r["user_id"], id=r["session_id"], role=r["role"], lvl=r["lvl"],
                   anon=bool(r["anon"]), name=r.get("name", ""), scopes=frozenset(r.get("scopes", ())),
                   method=r.get("method", ""), device=r.get("device", ""), created_at=r["created_at"],
                   last_used_at=r.get("last_used_at", r["created_at"]), idle_expires_at=r["idle_expires_at"],
                   expires_at=r["expires_at"], status=r.get("status", "live"), refresh_gen=r.get("refresh_gen", 0),
                   email=r.get("email"))


def _event(r: dict[str, Any]) -> AuditEvent:
    return AuditEvent(tenant=r["tenant"], id=r["sk"], kind=r["kind"], at=r["at"], actor=r.get("actor"),
                      subject=r.get("subject"), session_id=r.get("session_id"), detail=r.get("detail", {}))


def make_store(table: str) -> Store:
    return Store(table)


def now() -> int:
    return int(time.time())
