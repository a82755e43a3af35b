"""The seed file of the contract (sections 6 and 7): tenants, their operators and their
identity providers.

Loading is idempotent: tenants are upserted, operators are matched by e-mail and keep
their id (and their linked identities), so seeding twice changes nothing. An identity
provider's ``client_secret`` goes to Secrets Manager (``<stack>/oidc/<tenant>/<provider>``,
which only the SSO callback function may read); the table holds only that secret's name.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from switchboard.auth.identity import new_operator_id
from switchboard.auth.passwords import hash_password
from switchboard.auth.postlogin import validate_claim_names
from switchboard.models import IdentityProvider, Operator, Tenant, TrustedIssuer
from switchboard.settings import get_settings
from switchboard.store import Store
from switchboard.tokens.sealing import Sealer, totp_context

__all__ = ["DEMO_SEED", "Seed", "apply_seed", "load_seed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeedOperator(_Model):
    email: str
    password: Annotated[str, StringConstraints(min_length=8)]
    role: Literal["operator", "admin"] = "operator"
    name: str = ""
    totp_secret: str | None = None


class SeedProvider(_Model):
    """An OpenID provider of the tenant's staff (contract section 7)."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
    kind: Literal["oidc"] = "oidc"
    name: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    #: https, or http on loopback (a provider on the developer's machine)
    issuer: Annotated[str, StringConstraints(pattern=r"^(https://[^\s#?]+|http://(127\.0\.0\.1|localhost)(:[0-9]+)?(/[^\s#?]*)?)$")]
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    client_secret: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])
    allowed_domains: list[str] = Field(default_factory=list)


class SeedTrustedIssuer(_Model):
    """A website issuer whose JWTs ``POST /auth/exchange`` accepts for the tenant's visitors."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    issuer: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    #: https, or http on loopback only (a JWKS served on the developer's machine, the tests'):
    #: keys fetched over plain http from anywhere else could be swapped on the way
    jwks_uri: Annotated[str, StringConstraints(
        pattern=r"^(https://[^\s#]+|http://(127\.0\.0\.1|localhost)(:[0-9]+)?(/[^\s#]*)?)$", max_length=2048)]
    audience: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    user_claim: str = "sub"
    name_claim: str = "name"


class SeedTenant(_Model):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    name: str
    identity_secret: Annotated[str, StringConstraints(min_length=16)]
    hook_secret: Annotated[str, StringConstraints(min_length=16)]
    allowed_origins: list[str] = Field(default_factory=list)
    visitor_attachments: bool = False
    widget: dict[str, Any] = Field(default_factory=dict)
    claims: dict[str, Any] = Field(default_factory=dict)
    deny_email_domains: list[str] = Field(default_factory=list)
    operators: list[SeedOperator] = Field(default_factory=list)
    identity_providers: list[SeedProvider] = Field(default_factory=list)
    trusted_issuers: list[SeedTrustedIssuer] = Field(default_factory=list)


class Seed(_Model):
    tenants: list[SeedTenant]
    #: the tenant a Cognito user pool's trigger signs users into (default: the first tenant)
    cognito_tenant: str | None = None

    def default_cognito_tenant(self) -> str:
        return self.cognito_tenant or (self.tenants[0].id if self.tenants else "")


#: What `switchboard dev` loads without --seed. Demo secrets only: never deploy these.
DEMO_SEED: dict[str, Any] = {"tenants": [{
    "id": "demo", "name": "Demo Shop",
    "identity_secret": "demo-identity-secret-change-me",
    "hook_secret": "demo-hook-secret-change-me",
    "allowed_origins": ["http://localhost:8000", "http://127.0.0.1:8000"],
    "visitor_attachments": False,
    "widget": {"title": "Demo Shop support", "color": "#3056d3", "greeting": "Hi! How can we help?",
               "position": "right"},
    "operators": [
        {"email": "admin@demo.test", "password": "demo-admin-password", "role": "admin", "name": "Ada Admin"},
        {"email": "operator@demo.test", "password": "demo-operator-password", "role": "operator",
         "name": "Otto Operator"},
    ],
}]}


def load_seed(path: Path | str) -> Seed:
    return Seed.model_validate(json.loads(Path(path).read_text()))


#: where the providers' client secrets go: ``<stack>/oidc/`` (the SSO callback's policy names it)
LOCAL_SECRET_PREFIX = "switchboard-local/oidc/"


def apply_seed(store: Store, seed: Seed | dict[str, Any], *, sealer: Sealer | None = None,
               secrets: Any = None, secret_prefix: str = LOCAL_SECRET_PREFIX) -> list[dict[str, str]]:
    """Upsert tenants and operators; returns a summary (no secrets) of the operators.
    Operators' TOTP secrets are stored sealed (``sealer``; default: the ``TOTP_KEY_ID`` key);
    identity providers' client secrets go to Secrets Manager (``secrets``: its client; default
    one of boto3's) under ``secret_prefix``."""
    if isinstance(seed, dict):
        seed = Seed.model_validate(seed)
    sealer = sealer or Sealer(get_settings().totp_key_id)
    summary = []
    for t in seed.tenants:
        validate_claim_names(t.claims)
        providers = []
        for p in t.identity_providers:
            secret_id = f"{secret_prefix}{t.id}/{p.id}"
            if p.client_secret is not None:
                secrets = secrets or _secrets_client()
                _put_secret(secrets, secret_id, p.client_secret)
            providers.append(IdentityProvider(id=p.id, kind=p.kind, name=p.name, issuer=p.issuer,
                                              client_id=p.client_id, scopes=tuple(p.scopes),
                                              allowed_domains=tuple(d.lower() for d in p.allowed_domains),
                                              secret_id=secret_id))
        store.tenants.put(Tenant(id=t.id, name=t.name, identity_secret=t.identity_secret, hook_secret=t.hook_secret,
                                allowed_origins=tuple(o.rstrip("/") for o in t.allowed_origins),
                                visitor_attachments=t.visitor_attachments, widget=t.widget, claims=t.claims,
                                deny_email_domains=tuple(d.lower() for d in t.deny_email_domains),
                                identity_providers=tuple(providers),
                                trusted_issuers=tuple(TrustedIssuer(**i.model_dump()) for i in t.trusted_issuers)))
        for o in t.operators:
            existing = store.staff.get_by_email(t.id, o.email)
            op_id = existing.id if existing else new_operator_id()
            op = Operator(tenant=t.id, id=op_id, email=o.email.lower(),
                          name=o.name or o.email.split("@")[0], role=o.role,
                          password_hash=existing.password_hash if existing and _same(existing, o.password)
                          else hash_password(o.password),
                          created_at=existing.created_at if existing else int(time.time()),
                          totp_secret=sealer.seal(o.totp_secret, context=totp_context(t.id, op_id))
                          if o.totp_secret else None,
                          totp_enabled=o.totp_secret is not None,
                          identities=existing.identities if existing else {})  # links made by sign-ins stay
            store.staff.put(op)
            summary.append({"tenant": t.id, "email": op.email, "role": op.role, "id": op.id})
    return summary


def _same(existing: Operator, password: str) -> bool:
    from switchboard.auth.passwords import verify_password

    return verify_password(existing.password_hash, password)


def _secrets_client() -> Any:
    import boto3

    return boto3.client("secretsmanager")


def _put_secret(client: Any, name: str, value: str) -> None:
    """Create the secret, or give an existing one this value (seeding again)."""
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)
