"""The per-container service graph: settings, storage, keys, tokens, tenant cache, and the
chat's context and live connections.

Built once at first use and reused by every invocation of the container (cold start
is a budget: clients and parsed keys are made once).
"""

from __future__ import annotations

import re
import threading
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from switchboard.container import per_container
from switchboard.errors import NotFound
from switchboard.models import TENANT_ID_PATTERN, Tenant
from switchboard.settings import Settings, get_settings
from switchboard.store import Store

if TYPE_CHECKING:
    from switchboard.chat.connections import LiveConnections
    from switchboard.chat.context import ChatContext
    from switchboard.mail import Mailer
    from switchboard.tokens.access import TokenService
    from switchboard.tokens.keys import KeyStore
    from switchboard.tokens.sealing import Sealer

__all__ = ["Services", "TenantDirectory", "reset_caches", "services"]


TENANT_ID = re.compile(TENANT_ID_PATTERN)


class TenantDirectory:
    """Tenants by id, cached for ``ttl`` seconds per container.

    Tenant settings change rarely and are read on every sign-in; a short cache saves a
    read per sign-in. A change (say, a removed allowed origin) reaches every container
    within ``ttl`` seconds - documented in docs/architecture.md.
    """

    def __init__(self, store: Store, ttl: int) -> None:
        self._store = store
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Tenant | None]] = {}
        self._lock = threading.Lock()

    def find(self, tenant_id: str) -> Tenant | None:
        """The tenant, or ``None``. An id no tenant can have (the seed's pattern) is not looked
        up: it comes from a path, a body or an unverified token, any length, and DynamoDB
        refuses keys over its limits with an error rather than "no item"."""
        if not TENANT_ID.match(tenant_id):
            return None
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(tenant_id)
        if hit and now - hit[0] < self._ttl:
            return hit[1]
        tenant = self._store.tenants.get(tenant_id)
        with self._lock:
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[tenant_id] = (now, tenant)
        return tenant

    def get(self, tenant_id: str) -> Tenant:
        tenant = self.find(tenant_id)
        if tenant is None:
            raise NotFound("no such tenant")
        return tenant

    def forget(self, tenant_id: str | None = None) -> None:
        """Drop the cached copy of one tenant (after a settings change here), or of all."""
        with self._lock:
            if tenant_id is None:
                self._cache.clear()
            else:
                self._cache.pop(tenant_id, None)


class Services:
    """What a function works with. ``keys`` and ``tokens`` are built on first use: chat
    functions that never sign or verify a token do not pay for importing cryptography at
    cold start (measured in bench/)."""

    def __init__(self, settings: Settings, store: Store, tenants: TenantDirectory) -> None:
        self.settings = settings
        self.store = store
        self.tenants = tenants
        self._chats: dict[str, ChatContext] = {}
        self._chats_lock = threading.Lock()
        self._opened: dict[tuple[str, str, str], str] = {}
        self._opened_lock = threading.Lock()

    @cached_property
    def keys(self) -> KeyStore:
        """The verification set: public keys only (what the JWKS serves, what checks tokens)."""
        from switchboard.tokens.keys import KeyStore

        s = self.settings
        return KeyStore(s.verify_keys_secret_id or s.keys_secret_id, max_age=s.keys_cache_seconds)

    @cached_property
    def signing_keys(self) -> KeyStore:
        """The key set with its private keys: read only by functions that mint tokens (their
        IAM policy is the only one that allows it), and only when they first sign."""
        from switchboard.tokens.keys import KeyStore

        return KeyStore(self.settings.keys_secret_id, max_age=self.settings.keys_cache_seconds)

    @cached_property
    def tokens(self) -> TokenService:
        from switchboard.tokens.access import TokenService

        s = self.settings
        return TokenService(self.keys, signing_keys=self.signing_keys, issuer=s.issuer, access_ttl=s.access_ttl,
                            chat_ttl=s.chat_ttl)

    @cached_property
    def sealer(self) -> Sealer:
        """Seals second-factor secrets under the TOTP key (its KMS client made on first use)."""
        from switchboard.tokens.sealing import Sealer

        return Sealer(self.settings.totp_key_id)

    def tenant_secrets(self, tenant: Tenant, kind: str, now: int) -> list[str]:
        """The tenant's ``identity`` or ``hook`` secrets that verify at ``now``, opened: the
        current one, then each previous one inside its rotation grace. Rotated secrets are stored
        sealed (``admin/tenant.py``); one opened is kept per container by its sealed form, so a
        sign-in costs a KMS call only for a secret this container has not opened yet (one per
        rotation per container). Secrets
        seeded before sealing existed are stored plain and used as they are."""
        opened = []
        for stored in tenant.stored_secrets(kind, now):
            plain = self._open(stored, tenant, kind)
            if plain is not None:  # one that does not open verifies nothing (answered as a wrong secret)
                opened.append(plain)
        return opened

    def webhook_secret(self, tenant: Tenant, hook: dict[str, Any]) -> str:
        """A webhook's secret, opened (KMS, context ``kind=webhook:<id>``), kept per container by
        its sealed form like the tenant's other secrets. A secret that does not open fails the
        attempt (:class:`~switchboard.events.webhooks.DeliveryFailed`): said in the log, never its
        value, and the delivery ends in the dead-letter queue."""
        from switchboard.events.webhooks import DeliveryFailed

        plain = self._open(str(hook.get("secret", "")), tenant, f"webhook:{hook['id']}")
        if plain is None:
            raise DeliveryFailed("the webhook's secret does not open")
        return plain

    def _open(self, stored: str, tenant: Tenant, kind: str) -> str | None:
        """A stored tenant secret, opened: as it is when stored plain, else through KMS once per
        container (cached by its sealed form); None when it does not open - moved from another
        tenant or kind, or damaged - said in the log, never its value."""
        from switchboard.tokens.sealing import PREFIX, SealBroken, tenant_secret_context

        if not stored.startswith(PREFIX):
            return stored
        # keyed with its context too: a sealed value copied into another tenant's item must
        # still be refused by KMS, not answered from this cache
        cache_key = (stored, tenant.id, kind)
        with self._opened_lock:
            plain = self._opened.get(cache_key)
        if plain is None:
            try:
                plain = self.sealer.open(stored, context=tenant_secret_context(tenant.id, kind))
            except SealBroken:
                from switchboard.observability import logger

                logger.error("a sealed tenant secret does not open", extra={"tenant": tenant.id, "kind": kind})
                return None
            with self._opened_lock:
                if len(self._opened) > 1000:
                    self._opened.clear()
                self._opened[cache_key] = plain
        return plain

    @cached_property
    def mailer(self) -> Mailer:
        """Sends mail through SES from ``MAIL_FROM`` (its client made on first use)."""
        from switchboard.mail import Mailer

        return Mailer(self.settings.mail_from)

    def chat(self, endpoint: str) -> ChatContext:
        """The chat's context for a WebSocket API endpoint: one per endpoint per container, so
        its management API and S3 clients are made once. Imported on first use: functions that
        never chat do not load the chat modules."""
        with self._chats_lock:
            ctx = self._chats.get(endpoint)
            if ctx is None:
                from switchboard.chat.connections import build_context

                ctx = self._chats[endpoint] = build_context(self.settings, self.store, self.tenants.find, endpoint)
            return ctx

    @cached_property
    def connections(self) -> LiveConnections:
        """Reaches live WebSocket connections when sessions or scopes are revoked (through the
        configured ``WS_MANAGEMENT_ENDPOINT``; callers check it is set: without it there is no
        socket to reach)."""
        from switchboard.chat.connections import LiveConnections

        return LiveConnections(lambda: self.chat(self.settings.ws_endpoint))

    @classmethod
    def build(cls, settings: Settings, store: Store | None = None) -> Services:
        store = store or Store(settings.table_name)
        return cls(settings=settings, store=store, tenants=TenantDirectory(store, settings.tenant_cache_seconds))


@per_container
def services() -> Services:
    """The container's services (``services.cache_clear()`` in tests builds them anew)."""
    return Services.build(get_settings())


def reset_caches() -> None:
    """Forget everything made once per container - settings, the service graph, the DynamoDB
    client, the key stores' Secrets Manager clients, Powertools' parameter cache - so the next
    call builds them anew from the environment as it is now. For tests and the local stack,
    which run many "containers" (a fresh moto, other settings) in one process; never called on
    a request path."""
    from switchboard.store import dynamo
    from switchboard.tokens import key_rotation, keys

    get_settings.cache_clear()
    services.cache_clear()
    dynamo.dynamodb_client.cache_clear()
    key_rotation._client.cache_clear()
    keys._provider.cache_clear()
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # type: ignore[no-untyped-call]
