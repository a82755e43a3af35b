"""The per-container service graph: settings, storage, keys, tokens, tenant cache.

Built once at first use and reused by every invocation of the container (cold start
is a budget: clients and parsed keys are made once).
"""

from __future__ import annotations

import re
import threading
import time
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from switchboard.errors import NotFound
from switchboard.models import TENANT_ID_PATTERN, Tenant
from switchboard.settings import Settings, get_settings
from switchboard.store import Store

if TYPE_CHECKING:
    from switchboard.keys import KeyStore
    from switchboard.sealing import Sealer
    from switchboard.tokens import TokenService

__all__ = ["Services", "TenantDirectory", "services"]


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

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


class Services:
    """What a function works with. ``keys`` and ``tokens`` are built on first use: chat
    functions that never sign or verify a token do not pay for importing cryptography at
    cold start (measured in bench/)."""

    def __init__(self, settings: Settings, store: Store, tenants: TenantDirectory) -> None:
        self.settings = settings
        self.store = store
        self.tenants = tenants

    @cached_property
    def keys(self) -> KeyStore:
        """The verification set: public keys only (what the JWKS serves, what checks tokens)."""
        from switchboard.keys import KeyStore

        s = self.settings
        return KeyStore(s.verify_keys_secret_id or s.keys_secret_id, max_age=s.keys_cache_seconds)

    @cached_property
    def signing_keys(self) -> KeyStore:
        """The key set with its private keys: read only by functions that mint tokens (their
        IAM policy is the only one that allows it), and only when they first sign."""
        from switchboard.keys import KeyStore

        return KeyStore(self.settings.keys_secret_id, max_age=self.settings.keys_cache_seconds)

    @cached_property
    def tokens(self) -> TokenService:
        from switchboard.tokens import TokenService

        s = self.settings
        return TokenService(self.keys, signing_keys=self.signing_keys, issuer=s.issuer, access_ttl=s.access_ttl,
                            chat_ttl=s.chat_ttl)

    @cached_property
    def sealer(self) -> Sealer:
        """Seals second-factor secrets under the TOTP key (its KMS client made on first use)."""
        from switchboard.sealing import Sealer

        return Sealer(self.settings.totp_key_id)

    @classmethod
    def build(cls, settings: Settings, store: Store | None = None) -> Services:
        store = store or Store(settings.table_name)
        return cls(settings=settings, store=store, tenants=TenantDirectory(store, settings.tenant_cache_seconds))


@lru_cache(maxsize=1)
def services() -> Services:
    """The container's services (``services.cache_clear()`` in tests builds them anew)."""
    return Services.build(get_settings())
