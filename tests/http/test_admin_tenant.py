"""Tenant settings: GET / PATCH /admin/tenant (contract section 9) - strict validation, audit with
old and new values, conditional writes, the widget reading them, and no secret ever answered."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import HOOK_SECRET, IDENTITY_SECRET, OPERATOR, ORIGIN, TENANT

CONTRACT_FIELDS = {"name", "widget", "allowed_origins", "visitor_attachments", "verified_visitors_only", "hours",
                   "away_message", "email_when_offline", "prechat", "message_retention_days", "webhooks"}
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HOURS = {"time_zone": "Europe/Paris", "weekly": [{"day": "mon", "from": "09:00", "to": "17:30"},
                                                 {"day": "tue", "from": "09:00", "to": "17:30"}],
         "holidays": ["2026-12-25"]}


def settings(call, admin):
    r = call("GET /admin/tenant", token=admin)
    assert r["status"] == 200, r
    return r["json"]


def patch(call, admin, body):
    return call("PATCH /admin/tenant", token=admin, body=body)


def stored_item(svc):
    raw = boto3.client("dynamodb").get_item(TableName=svc.settings.table_name,
                                            Key={"pk": {"S": f"T#{TENANT}"}, "sk": {"S": "TENANT"}})["Item"]
    return json.dumps(raw)


def events(svc, kind):
    return [e for e in svc.store.events.page(TENANT, limit=100)[0] if e.kind == kind]


def test_get_answers_every_contract_field_and_no_secret(call, admin):
    r = call("GET /admin/tenant", token=admin)
    assert r["status"] == 200
    body = r["json"]
    assert set(body) >= CONTRACT_FIELDS
    assert body["name"] == "Acme" and body["allowed_origins"] == [ORIGIN] and body["visitor_attachments"] is True
    assert set(body["widget"]) == {"title", "color", "greeting", "position"}
    assert body["verified_visitors_only"] is False and body["hours"] is None and body["webhooks"] == []
    text = json.dumps(r)
    assert IDENTITY_SECRET not in text and HOOK_SECRET not in text and "secret\"" not in text.replace(
        "previous_secrets_until", "")


@pytest.mark.parametrize("route", ["GET /admin/tenant", "PATCH /admin/tenant", "POST /admin/tenant/identity-secret",
                                   "POST /admin/tenant/hook-secret"])
def test_staff_without_admin_tenant_are_forbidden(call, tokens_for, route):
    otto = tokens_for(OPERATOR)["access_token"]
    body = {"name": "Mine now"} if route.startswith("PATCH") else None
    r = call(route, token=otto, body=body)
    assert r["status"] == 403 and r["json"]["code"] == "forbidden"
    assert call(route, body=body)["status"] == 401


def test_a_change_shows_in_the_widget_settings_at_once_and_is_audited_with_old_and_new(call, admin, svc):
    # Given the widget as it is
    before = call("GET /tenants/{tenant}/widget", path_params={"tenant": TENANT})["json"]
    # When an admin changes the name, the widget's colour and position, and attachments
    r = patch(call, admin, {"name": "Acme Corp", "widget": {"color": "#112233", "position": "left"},
                            "visitor_attachments": False})
    assert r["status"] == 200, r
    assert r["json"]["widget"]["color"] == "#112233" and r["json"]["name"] == "Acme Corp"
    # Then the public widget settings read them (this container forgot its cached copy)
    after = call("GET /tenants/{tenant}/widget", path_params={"tenant": TENANT})["json"]
    assert (after["color"], after["position"], after["attachments"]) == ("#112233", "left", False)
    assert after["greeting"] == before["greeting"]  # a widget field not sent is kept
    # And the audit event holds each changed field's old and new value, and no unchanged one
    (event,) = events(svc, "tenant_changed")
    changes = event.detail["changes"]
    assert changes["name"] == {"old": "Acme", "new": "Acme Corp"}
    assert changes["widget"]["old"]["color"] == before["color"] and changes["widget"]["new"]["color"] == "#112233"
    assert changes["visitor_attachments"] == {"old": True, "new": False}
    assert set(changes) == {"name", "widget", "visitor_attachments"}


def test_every_stored_only_setting_round_trips(call, admin):
    body = {"hours": HOURS, "away_message": "We are away", "email_when_offline": "required",
            "prechat": [{"id": "order", "label": "Order number", "kind": "text", "required": True},
                        {"id": "topic", "label": "Topic", "kind": "select", "options": ["Billing", "Tech"]}],
            "message_retention_days": 30, "verified_visitors_only": True,
            "allowed_origins": ["https://a.example", "https://b.example:8443"]}
    assert patch(call, admin, body)["status"] == 200
    got = settings(call, admin)
    assert got["hours"] == HOURS and got["away_message"] == "We are away"
    assert got["email_when_offline"] == "required" and got["message_retention_days"] == 30
    assert [f["id"] for f in got["prechat"]] == ["order", "topic"]
    assert got["prechat"][1]["options"] == ["Billing", "Tech"]
    assert got["verified_visitors_only"] is True
    assert got["allowed_origins"] == ["https://a.example", "https://b.example:8443"]
    # null clears what may be cleared
    assert patch(call, admin, {"hours": None, "away_message": None, "message_retention_days": None})["status"] == 200
    got = settings(call, admin)
    assert (got["hours"], got["away_message"], got["message_retention_days"]) == (None, None, None)


BAD = [
    {},
    {"unknown": 1},
    {"name": ""},
    {"name": 5},
    {"widget": {"color": "red"}},
    {"widget": {"color": "#12345g"}},
    {"widget": {"color": "#123;}body{x:y"}},
    {"widget": {"position": "top"}},
    {"widget": {"title": "x" * 61}},
    {"widget": {"extra": 1}},
    {"allowed_origins": ["https://shop.example/path"]},
    {"allowed_origins": ["javascript:alert(1)"]},
    {"allowed_origins": ["http://shop.example"]},  # plain http beyond localhost: production refuses it
    {"allowed_origins": "https://shop.example"},
    {"visitor_attachments": "yes"},
    {"verified_visitors_only": 1},
    {"hours": {"time_zone": "Mars/Olympus", "weekly": []}},
    {"hours": {"time_zone": "Europe/Paris", "weekly": [{"day": "mon", "from": "17:00", "to": "09:00"}]}},
    {"hours": {"time_zone": "Europe/Paris", "weekly": [{"day": "mon", "from": "25:00", "to": "26:00"}]}},
    {"hours": {"time_zone": "Europe/Paris", "weekly": [{"day": "someday", "from": "09:00", "to": "10:00"}]}},
    {"hours": {"time_zone": "Europe/Paris", "weekly": [], "holidays": ["2026-13-01"]}},
    # time zones zoneinfo opens that are no place (the adversarial probe; the same check as a
    # visitor's context.time_zone: chat/hours.real_zone)
    {"hours": {"time_zone": "localtime", "weekly": []}},
    {"hours": {"time_zone": "Factory", "weekly": []}},
    {"hours": {"time_zone": "posixrules", "weekly": []}},
    {"hours": {"time_zone": "right/UTC", "weekly": []}},
    {"hours": {"time_zone": "posix/Europe/Paris", "weekly": []}},
    {"hours": {"time_zone": "../../../etc/passwd", "weekly": []}},
    {"hours": {"time_zone": "Europe/Paris\n", "weekly": []}},
    # holidays that fit the pattern but not the calendar
    {"hours": {"time_zone": "Europe/Paris", "weekly": [{"day": "mon", "from": "09:00", "to": "17:00"}],
               "holidays": ["2026-02-30"]}},
    {"hours": {"time_zone": "Europe/Paris", "weekly": [{"day": "mon", "from": "09:00", "to": "17:00"}],
               "holidays": ["2027-02-29"]}},
    {"hours": {"time_zone": "Europe/Paris", "weekly": [{"day": "mon", "from": "09:00", "to": "17:00"}],
               "holidays": ["2026-04-31"]}},
    # holidays with no weekly span: no weekly entry means no hours are set, so they would close nothing
    {"hours": {"time_zone": "Europe/Paris", "weekly": [], "holidays": ["2026-12-25"]}},
    # a language named twice (docs/web.md: each once)
    {"locales": ["en", "en"]},
    {"locales": ["es", "en", "es"]},
    {"email_when_offline": "sometimes"},
    {"prechat": [{"id": "a", "label": "A", "kind": "select"}]},
    {"prechat": [{"id": "a", "label": "A", "kind": "text", "options": ["x"]}]},
    {"prechat": [{"id": "a", "label": "A", "kind": "text"}, {"id": "a", "label": "B", "kind": "text"}]},
    {"prechat": [{"id": "A B", "label": "A", "kind": "text"}]},
    {"prechat": [{"id": "a", "label": "A", "kind": "file"}]},
    # control characters (found by the probe of the local stack): shown to visitors, in mail
    {"name": "Acme\r\nBcc: x@evil.example"},
    {"name": "Acme\x1b[31m"},
    {"widget": {"title": "Help\nnow"}},
    {"widget": {"greeting": "Hi\x00"}},
    {"away_message": "Back at 9\x07"},
    {"prechat": [{"id": "a", "label": "A\rB", "kind": "text"}]},
    {"message_retention_days": 0},
    {"message_retention_days": 3651},
    {"message_retention_days": "30"},
    {"webhooks": [{"url": "http://hooks.example/x", "events": ["message.created"], "secret": WEBHOOK_SECRET}]},
    {"webhooks": [{"url": "https://hooks.example/x", "events": ["message.created"]}]},  # a new one needs its secret
    {"webhooks": [{"url": "https://hooks.example/x", "events": [], "secret": WEBHOOK_SECRET}]},
    {"webhooks": [{"url": "https://hooks.example/x", "events": ["user.deleted"], "secret": WEBHOOK_SECRET}]},
    {"webhooks": [{"url": "https://hooks.example/x", "events": ["message.created"], "secret": "short"}]},
    {"webhooks": [{"url": "https://user:pw@hooks.example/x", "events": ["message.created"],
                   "secret": WEBHOOK_SECRET}]},
]


@pytest.mark.parametrize("body", BAD, ids=[json.dumps(b)[:60] for b in BAD])
def test_a_bad_change_is_a_400_and_changes_nothing(call, admin, svc, body):
    before = settings(call, admin)
    r = patch(call, admin, body)
    assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
    assert settings(call, admin) == before
    assert events(svc, "tenant_changed") == []


def test_a_webhook_secret_is_write_only_sealed_and_kept_when_not_sent_again(call, admin, svc):
    hook = {"url": "https://hooks.example/in", "events": ["conversation.closed"], "secret": WEBHOOK_SECRET}
    r = patch(call, admin, {"webhooks": [hook]})
    assert r["status"] == 200 and WEBHOOK_SECRET not in json.dumps(r)
    (shown,) = settings(call, admin)["webhooks"]
    assert set(shown) == {"id", "url", "events"}
    # the table holds it sealed, never in plain form; the audit event never holds it
    assert WEBHOOK_SECRET not in stored_item(svc) and "kms1:" in stored_item(svc)
    assert WEBHOOK_SECRET not in json.dumps([e.detail for e in svc.store.events.page(TENANT, limit=100,
                                                                                       cursor=None)[0]])
    sealed = svc.store.tenants.get(TENANT).webhooks[0]["secret"]
    # changing its events without a secret keeps the secret it has
    r = patch(call, admin, {"webhooks": [{"id": shown["id"], "url": shown["url"], "events": ["message.created"]}]})
    assert r["status"] == 200
    assert svc.store.tenants.get(TENANT).webhooks[0]["secret"] == sealed
    from switchboard.tokens.sealing import tenant_secret_context

    assert svc.sealer.open(sealed, context=tenant_secret_context(TENANT, f"webhook:{shown['id']}")) == WEBHOOK_SECRET


def test_concurrent_changes_of_different_fields_both_land(call, admin, svc, monkeypatch):
    # Given a change that, between its read and its write, loses the race to another admin's
    from switchboard.admin import tenant as tenant_settings
    from switchboard.store.staff import Tenants

    real_replace, raced = Tenants.replace, []

    def replace_after_a_rival(self, t, *, read_version):
        if not raced:
            raced.append(1)
            caller = _caller(svc, admin)
            tenant_settings.change_settings(svc, caller, {"away_message": "Back soon"})
        return real_replace(self, t, read_version=read_version)

    monkeypatch.setattr(Tenants, "replace", replace_after_a_rival)
    # When it goes on
    r = patch(call, admin, {"name": "Acme Two"})
    # Then both changes are there: the loser read again and applied its field to the winner's
    assert r["status"] == 200 and raced
    got = settings(call, admin)
    assert (got["name"], got["away_message"]) == ("Acme Two", "Back soon")
    assert got["version"] == 2


def _caller(svc, token):
    from switchboard.auth import sessions

    return sessions.authenticate(svc, f"Bearer {token}")


def test_other_containers_see_a_change_within_the_tenant_cache_ttl(call, admin, svc, monkeypatch):
    # Given another container's tenant cache, holding the tenant as it was
    from switchboard import runtime

    clock = [1000.0]
    monkeypatch.setattr(runtime.time, "monotonic", lambda: clock[0])
    other = runtime.TenantDirectory(svc.store, ttl=svc.settings.tenant_cache_seconds)
    assert other.get(TENANT).name == "Acme"
    # When an admin renames the tenant
    assert patch(call, admin, {"name": "Renamed"})["status"] == 200
    # Then that container still has its copy for less than the TTL, and the change once it passes
    clock[0] += svc.settings.tenant_cache_seconds - 1
    assert other.get(TENANT).name == "Acme"
    clock[0] += 1
    assert other.get(TENANT).name == "Renamed"
    assert svc.settings.tenant_cache_seconds <= 60  # the bound


def test_http_urls_are_allowed_on_the_local_stack_only(call, admin, monkeypatch):
    from switchboard.runtime import reset_caches

    monkeypatch.setenv("ALLOW_HTTP_URLS", "1")
    reset_caches()
    hook = {"url": "http://127.0.0.1:9999/in", "events": ["message.created"], "secret": WEBHOOK_SECRET}
    assert patch(call, admin, {"webhooks": [hook], "allowed_origins": ["http://shop.test:8080"]})["status"] == 200


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "Etc/GMT+3", "GMT", "America/Argentina/Buenos_Aires",
                                  "America/Port-au-Prince", "US/Eastern"])
def test_real_zones_browsers_report_are_accepted_utc_and_etc_included(call, admin, zone):
    hours = {"time_zone": zone, "weekly": [{"day": "mon", "from": "09:00", "to": "17:00"}], "holidays": []}
    r = patch(call, admin, {"hours": hours})
    assert r["status"] == 200, r
    assert settings(call, admin)["hours"]["time_zone"] == zone


def test_a_leap_day_is_a_holiday_and_an_empty_schedule_is_no_hours(call, admin):
    hours = {"time_zone": "Europe/Paris", "weekly": [{"day": "mon", "from": "09:00", "to": "17:00"}],
             "holidays": ["2028-02-29"]}
    assert patch(call, admin, {"hours": hours})["status"] == 200
    assert settings(call, admin)["hours"]["holidays"] == ["2028-02-29"]
    # an empty weekly schedule without holidays is allowed: it reads as no hours set
    empty = {"time_zone": "UTC", "weekly": [], "holidays": []}
    assert patch(call, admin, {"hours": empty})["status"] == 200
    assert settings(call, admin)["hours"] == empty
