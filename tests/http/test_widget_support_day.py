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
