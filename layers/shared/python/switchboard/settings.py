"""Typed configuration, read once per container from the environment.

Nothing else in the layer reads ``os.environ``: handlers call :func:`get_settings`
and pass what they need down.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

from switchboard.container import per_container

__all__ = ["Settings", "get_settings"]


class Settings(msgspec.Struct, frozen=True):
    table_name: str
    keys_secret_id: str
    #: the public-only verification set (``keys.public_keyset``); empty: verify with the key set itself
    verify_keys_secret_id: str = ""
    issuer: str = "switchboard"
    claims_namespace: str = "https://switchboard.dev/claims"
    access_ttl: int = 900
    chat_ttl: int = 3600
    session_idle_seconds: int = 7 * 24 * 3600
    session_absolute_seconds: int = 30 * 24 * 3600
    keys_cache_seconds: int = 300
    tenant_cache_seconds: int = 30
    max_body_bytes: int = 16 * 1024
    audit_retention_days: int = 90
    #: how long the archive bucket keeps a transcript (the template's ArchiveRetentionDays)
    archive_retention_days: int = 365
    #: the WebSocket API's management endpoint (https://{api}.execute-api.{region}.amazonaws.com/{stage});
    #: empty: derive it from the WebSocket event, or (HTTP functions) no live connections to reach
    ws_endpoint: str = ""
    archive_bucket: str = ""
    attachments_bucket: str = ""
    max_connection_seconds: int = 2 * 3600  # API Gateway closes WebSockets after 2 hours
    #: live WebSocket connections one user may hold (tabs, devices); one more is refused (429)
    max_connections_per_user: int = 25
    max_attachment_bytes: int = 10 * 1024 * 1024
    #: S3 at an endpoint of our own (the local stack's, AWS_ENDPOINT_URL[_S3]): presigned URLs
    #: then address buckets by path, not by host name
    s3_own_endpoint: bool = False
    #: attempts per minute and per hour: per account, and per client IP
    rate_limit_account: tuple[int, int] = (10, 100)
    rate_limit_ip: tuple[int, int] = (60, 1000)
    #: password sign-ins per account from devices without its device token, all addresses together
    rate_limit_untrusted: tuple[int, int] = (30, 300)
    #: chat action limits replacing chat.limits.LIMITS for the kinds named: (kind, per connection,
    #: per user) a minute; empty: those defaults
    ws_rate_limits: tuple[tuple[str, int, int], ...] = ()
    #: the tenant whose users a Cognito user pool's pre token generation trigger signs in
    cognito_tenant: str = ""
    #: how old a signed hook request may be (seconds)
    hook_tolerance_seconds: int = 300
    #: the KMS key (id, ARN or alias) that seals operators' TOTP secrets (see sealing.py)
    totp_key_id: str = ""
    #: plain http for webhook URLs and allowed origins beyond localhost: the local stack only
    #: (``switchboard dev`` sets ALLOW_HTTP_URLS=1; the template never does)
    allow_http_urls: bool = False
    #: where reports and search run their SQL (docs/reports.md): ``athena`` in AWS (the template
    #: sets it, with the workgroup and the Glue database), ``duckdb`` on the local stack
    reports_engine: str = "duckdb"
    athena_workgroup: str = ""
    reports_database: str = ""
    #: the HTTP API's public base URL (a custom domain, a stage): SSO's redirect URI is
    #: ``<this>/auth/oidc/<provider>/callback``; empty: https://<the request's domain name>
    public_api_url: str = ""
    #: who Switchboard's mail comes from (an address of an identity verified in SES: the template's MailFrom)
    mail_from: str = "no-reply@example.com"
    #: the back office's URL: password reset links point there (``#reset=<token>``)
    backoffice_url: str = "http://127.0.0.1:8000/backoffice/"
    #: contract section 8: how long a staff reply waits for the visitor to be seen live before
    #: it is mailed to them (the template's FollowupDelaySeconds); replies within it join one mail
    followup_delay_seconds: int = 120
    #: issue 17: a queued chat nobody claims, or an assigned one its operator does not answer,
    #: for this long is moved on by the support sweep (the template's ReassignAfterMinutes)
    reassign_after_seconds: int = 300
    #: outbound events (issue 19, docs/webhooks.md): the EventBridge bus (the template's EventBusName;
    #: empty: no bus), the webhooks' SQS queue, the backoff between attempts (seconds, by attempt:
    #: the last repeats), and loopback receivers (the local stack only; the template never sets it)
    event_bus_name: str = ""
    webhook_queue_url: str = ""
    webhook_retry_seconds: tuple[int, ...] = (30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 43200)

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str] | None = None) -> Settings:
        e = os.environ if env is None else env

        def num(name: str, default: int) -> int:
            raw = e.get(name)
            return int(raw) if raw else default

        return cls(
            table_name=e.get("TABLE_NAME", "switchboard"),
            keys_secret_id=e.get("KEYS_SECRET_ID", "switchboard/signing-keys"),
            verify_keys_secret_id=e.get("VERIFY_KEYS_SECRET_ID", ""),
            issuer=e.get("ISSUER", _default("issuer")),
            claims_namespace=e.get("CLAIMS_NAMESPACE", _default("claims_namespace")).rstrip("/"),
            access_ttl=num("ACCESS_TOKEN_TTL", _default("access_ttl")),
            chat_ttl=num("CHAT_TOKEN_TTL", _default("chat_ttl")),
            session_idle_seconds=num("SESSION_IDLE_SECONDS", _default("session_idle_seconds")),
            session_absolute_seconds=num("SESSION_ABSOLUTE_SECONDS", _default("session_absolute_seconds")),
            keys_cache_seconds=num("KEYS_CACHE_SECONDS", _default("keys_cache_seconds")),
            tenant_cache_seconds=num("TENANT_CACHE_SECONDS", _default("tenant_cache_seconds")),
            max_body_bytes=num("MAX_BODY_BYTES", _default("max_body_bytes")),
            audit_retention_days=num("AUDIT_RETENTION_DAYS", _default("audit_retention_days")),
            archive_retention_days=num("ARCHIVE_RETENTION_DAYS", _default("archive_retention_days")),
            ws_endpoint=e.get("WS_MANAGEMENT_ENDPOINT", ""),
            archive_bucket=e.get("ARCHIVE_BUCKET", ""),
            attachments_bucket=e.get("ATTACHMENTS_BUCKET", ""),
            max_attachment_bytes=num("MAX_ATTACHMENT_BYTES", _default("max_attachment_bytes")),
            max_connections_per_user=num("MAX_CONNECTIONS_PER_USER", _default("max_connections_per_user")),
            s3_own_endpoint=bool(e.get("AWS_ENDPOINT_URL_S3") or e.get("AWS_ENDPOINT_URL")),
            rate_limit_account=_pair(e.get("RATE_LIMIT_ACCOUNT"), _default("rate_limit_account")),
            rate_limit_ip=_pair(e.get("RATE_LIMIT_IP"), _default("rate_limit_ip")),
            rate_limit_untrusted=_pair(e.get("RATE_LIMIT_UNTRUSTED"), _default("rate_limit_untrusted")),
            ws_rate_limits=_kinds(e.get("WS_RATE_LIMITS")),
            cognito_tenant=e.get("COGNITO_TENANT", ""),
            totp_key_id=e.get("TOTP_KEY_ID", ""),
            allow_http_urls=e.get("ALLOW_HTTP_URLS") == "1",
            reports_engine=e.get("REPORTS_ENGINE", _default("reports_engine")),
            athena_workgroup=e.get("ATHENA_WORKGROUP", ""),
            reports_database=e.get("REPORTS_DATABASE", ""),
            public_api_url=e.get("PUBLIC_API_URL", "").rstrip("/"),
            mail_from=e.get("MAIL_FROM") or _default("mail_from"),
            backoffice_url=e.get("BACKOFFICE_URL") or _default("backoffice_url"),
            followup_delay_seconds=num("FOLLOWUP_DELAY_SECONDS", _default("followup_delay_seconds")),
            reassign_after_seconds=num("REASSIGN_AFTER_SECONDS", _default("reassign_after_seconds")),
            event_bus_name=e.get("EVENT_BUS_NAME", ""),
            webhook_queue_url=e.get("WEBHOOK_QUEUE_URL", ""),
            webhook_retry_seconds=tuple(int(n) for n in e["WEBHOOK_RETRY_SECONDS"].split(","))
            if e.get("WEBHOOK_RETRY_SECONDS") else _default("webhook_retry_seconds"),
        )


def _pair(raw: str | None, default: tuple[int, int]) -> tuple[int, int]:
    """``"10/100"`` -> (10, 100): attempts per minute / per hour."""
    if not raw:
        return default
    minute, hour = (int(part) for part in raw.split("/"))
    return minute, hour


def _kinds(raw: str | None) -> tuple[tuple[str, int, int], ...]:
    """``"send=30/60,typing=20/40"`` -> (("send", 30, 60), ("typing", 20, 40)): per kind of chat
    action, per connection / per user a minute. Which kinds exist is chat.limits' to check."""
    out = []
    for entry in (raw or "").split(","):
        if entry.strip():
            kind, pair = entry.split("=")
            per_connection, per_user = _pair(pair.strip(), (0, 0))
            out.append((kind.strip(), per_connection, per_user))
    return tuple(out)


def _default(name: str) -> Any:
    # a Struct keeps its defaults for the last fields, in order (structs.fields() would also
    # resolve every annotation: ~3 ms of cold start for nothing)
    defaults = Settings.__struct_defaults__
    names = Settings.__struct_fields__[len(Settings.__struct_fields__) - len(defaults):]
    return defaults[names.index(name)]


@per_container
def get_settings() -> Settings:
    """The container's settings; built on first use and then reused."""
    return Settings.from_env()
