"""GET /tenants/{tenant}/widget's support-day fields (contract section 8): who is online, business
hours, the away message, the pre-chat form, email when offline, the widget's languages."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from msgspec.structs import replace

from tests.conftest import OPERATOR, ORIGIN, TENANT

PRECHAT = ({"id": "topic", "label": "Topic", "kind": "select", "options": ["Billing", "Tech"], "required": True},)


@pytest.fixture
def widget(template, seeded):
    from switchboard_local.lambda_runtime import LambdaContext, http_event, load_handler

    def _call() -> dict[str, Any]:
        event = http_event("GET", f"/tenants/{TENANT}/widget", route_path="/tenants/{tenant}/widget",
                           headers={"origin": ORIGIN}, path_params={"tenant": TENANT})
        result = load_handler(template, "WidgetSettingsFunction")(event, LambdaContext("WidgetSettingsFunction"))
        assert result["statusCode"] == 200, result
        return {"headers": result["headers"], "json": json.loads(result["body"])}

    return _call


def set_tenant(svc: Any, **fields: Any) -> None:
    svc.store.tenants.put(replace(svc.store.tenants.get(TENANT), **fields))
    svc.tenants.forget()


def test_a_tenant_that_set_nothing(widget):
    got = widget()["json"]
    assert {k: got[k] for k in ("online", "open_now", "hours", "away_message", "prechat", "email_when_offline",
                                "locales")} == \
        {"online": False, "open_now": True, "hours": None, "away_message": None, "prechat": [],
         "email_when_offline": "off", "locales": ["en", "es"]}


def test_the_support_day_as_the_tenant_set_it(widget, svc, chat, tokens_for):
    # Given a tenant with hours (today a holiday), an away message, a form, email required
    today = time.strftime("%Y-%m-%d", time.gmtime())
    hours = {"time_zone": "UTC", "weekly": [{"day": d, "from": "00:00", "to": "24:00"}
                                            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")],
             "holidays": [today]}
    set_tenant(svc, hours=hours, away_message="Back tomorrow", prechat=PRECHAT, email_when_offline="required")
    got = widget()["json"]
    # Then the widget learns all of it, and that it is closed today and nobody is online
    assert (got["hours"], got["away_message"], got["prechat"], got["email_when_offline"]) == \
        (hours, "Back tomorrow", list(PRECHAT), "required")
    assert (got["open_now"], got["online"]) == (False, False)
    # When an operator comes online, Then it says so
    otto = chat.connect(tokens_for(OPERATOR))
    assert widget()["json"]["online"] is True
    # and not once they have gone
    otto.disconnect()
    assert widget()["json"]["online"] is False


def test_an_empty_weekly_schedule_is_no_hours_set_so_the_tenant_is_open(call, admin, widget):
    # Given hours saved with no weekly span (found by the adversarial probe: it read as closed for ever)
    r = call("PATCH /admin/tenant", token=admin, body={"hours": {"time_zone": "UTC", "weekly": []}})
    assert r["status"] == 200, r
    got = widget()["json"]
    # Then the widget is told the tenant is open (docs/web.md: no weekly entry means no hours are set)
    assert got["hours"] == {"time_zone": "UTC", "weekly": [], "holidays": []} and got["open_now"] is True


def test_outside_hours_reads_no_weekly_span_as_no_hours_for_reports_and_widget_alike():
    from switchboard.chat.hours import outside_hours

    now = int(time.time() * 1000)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    # the report line's null (no hours set) is the widget's open_now true, holidays or not
    assert outside_hours({"time_zone": "UTC", "weekly": []}, now) is None
    assert outside_hours({"time_zone": "UTC", "weekly": [], "holidays": [today]}, now) is None
    # while a schedule closed today still says so
    assert outside_hours({"time_zone": "UTC", "weekly": [{"day": "mon", "from": "00:00", "to": "24:00"}],
                          "holidays": [today]}, now) is True


def test_an_away_operator_is_not_online_to_visitors(widget, chat, tokens_for):
    # Given the only operator connected, but away (they take no new chat)
    otto = chat.connect(tokens_for(OPERATOR))
    otto.ok("presence.set", status="away")
    # Then the widget says nobody is online (so it asks for an email, as the tenant set)
    assert widget()["json"]["online"] is False
    # and says so again once they are back
    otto.ok("presence.set", status="online")
    assert widget()["json"]["online"] is True


def test_online_costs_one_query_of_the_staff_partition(widget, svc, chat, tokens_for, call):
    from tests.chat_support import CallLog, visitor_tokens

    # Given an operator online and many visitors connected (who must not make it dearer)
    chat.connect(tokens_for(OPERATOR))
    for _ in range(5):
        chat.connect(visitor_tokens(call))
    widget()  # the tenant is cached now, as in a warm container
    log = CallLog()
    with log.counting(svc.store.client):
        got = widget()["json"]
    assert got["online"] is True
    assert log.names() == ["Query"] and log.items_read <= 4
    assert widget()["headers"]["Cache-Control"] == "public, max-age=15"


# -- the tenant's languages (docs/web.md, "The widget's languages") -------------------------------
def test_the_tenants_locales_in_its_order_are_what_the_widget_offers(call, admin, widget):
    # When an admin sets the tenant's languages, Spanish first
    # (a language named twice was once quietly kept once; it is a 400 now: docs/web.md says each
    # once, and tests/http/test_admin_tenant.py's BAD list holds ["es", "en", "es"])
    r = call("PATCH /admin/tenant", token=admin, body={"locales": ["es", "en"]})
    assert r["status"] == 200, r
    # Then the settings keep them in that order, and the widget offers exactly those
    assert r["json"]["locales"] == ["es", "en"]
    assert widget()["json"]["locales"] == ["es", "en"]
    # And a tenant offering only Spanish offers only Spanish
    assert call("PATCH /admin/tenant", token=admin, body={"locales": ["es"]})["status"] == 200
    assert widget()["json"]["locales"] == ["es"]
    # And null clears the choice: every language the catalogue has again
    r = call("PATCH /admin/tenant", token=admin, body={"locales": None})
    assert r["status"] == 200 and r["json"]["locales"] == []
    assert widget()["json"]["locales"] == ["en", "es"]


@pytest.mark.parametrize("locales", [[], ["fr"], ["en", "xx"], "es", [1], ["EN"], ["en", "en"]])
def test_locales_outside_the_catalogue_are_a_400_and_change_nothing(call, admin, widget, locales):
    r = call("PATCH /admin/tenant", token=admin, body={"locales": locales})
    assert r["status"] == 400 and r["json"]["code"] == "validation_error", r
    assert widget()["json"]["locales"] == ["en", "es"]


def test_the_request_models_languages_are_the_catalogues():
    # the PATCH's allowed values are spelled in the request model: they must be the catalogue's
    from typing import get_args, get_type_hints

    from switchboard.chat.visitors import LOCALES
    from switchboard.edge.requests import TenantChange

    hint = get_type_hints(TenantChange, include_extras=True)["locales"]
    (annotated, *_unset_or_null) = get_args(hint)
    (item,) = get_args(get_args(annotated)[0])
    assert set(get_args(item)) == set(LOCALES)


def test_the_catalogues_in_the_widget_are_the_ones_offered():
    # LOCALES (what the server offers) names exactly the widget's catalogues (web/widget.js)
    import re

    from switchboard.chat.visitors import LOCALES

    from tests.conftest import ROOT

    source = (ROOT / "web" / "widget.js").read_text()
    block = source[source.index("var STRINGS = {"):source.index("var LOCALE")]
    assert set(re.findall(r"^    (\w+): \{$", block, re.M)) == set(LOCALES)
