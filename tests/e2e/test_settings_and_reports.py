"""`switchboard dev` end to end, over real HTTP: tenant settings, secret rotation, reports and
search (contract section 9). On tenant globex, so the other e2e tests' acme stays as seeded."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import time
import urllib.request
import uuid

import pytest

from tests.conftest import DevStack, settled
from tests.e2e.test_chat import GLOBEX_ADMIN, run, staff, visitor
from tests.e2e.test_http import http
from tests.ws_client import ChatClient

pytestmark = pytest.mark.e2e

GLOBEX, GLOBEX_ORIGIN, GLOBEX_SECRET = "globex", "https://globex.test", "globex-identity-secret-0123"


def admin_token(stack: DevStack) -> str:
    return staff(stack, GLOBEX_ADMIN, tenant=GLOBEX)["access_token"]


def signed(secret: str, user_id: str) -> dict[str, str]:
    return {"id": user_id, "hash": hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()}


def test_settings_change_the_widget_and_verified_only_refuses_anonymous_visitors(dev_stack):
    token = admin_token(dev_stack)
    status, _, before = http(dev_stack, "GET", "/admin/tenant", token=token)
    assert status == 200 and before["name"] == "Globex" and "secret" not in str(before).replace("_secrets", "")
    change = {"widget": {"title": "Globex help", "color": "#aa3300"}, "verified_visitors_only": True}
    status, _, after = http(dev_stack, "PATCH", "/admin/tenant", change, token=token)
    assert status == 200, after
    settled()  # every function's container caches the tenant for a while
    try:
        status, _, widget = http(dev_stack, "GET", f"/tenants/{GLOBEX}/widget")
        assert (widget["title"], widget["color"]) == ("Globex help", "#aa3300")
        status, _, refused = http(dev_stack, "POST", "/auth/external", {"tenant": GLOBEX},
                                  headers={"origin": GLOBEX_ORIGIN})
        assert (status, refused["code"]) == (401, "invalid_identity")
        status, _, known = http(dev_stack, "POST", "/auth/external",
                                {"tenant": GLOBEX, "user": signed(GLOBEX_SECRET, "customer-9")},
                                headers={"origin": GLOBEX_ORIGIN})
        assert status == 200, known
        status, _, bad = http(dev_stack, "PATCH", "/admin/tenant", {"widget": {"color": "red"}}, token=token)
        assert (status, bad["code"]) == (400, "validation_error")
    finally:
        assert http(dev_stack, "PATCH", "/admin/tenant", {"verified_visitors_only": False}, token=token)[0] == 200
        settled()


def test_identity_secret_rotation_keeps_the_old_one_for_its_grace(dev_stack):
    token = admin_token(dev_stack)
    status, _, rotated = http(dev_stack, "POST", "/admin/tenant/identity-secret", {"grace_seconds": 600}, token=token)
    assert status == 200 and set(rotated) == {"secret"}
    new = rotated["secret"]
    settled()
    for secret in (GLOBEX_SECRET, new):  # inside the grace both vouch
        status, _, body = http(dev_stack, "POST", "/auth/external", {"tenant": GLOBEX, "user": signed(secret, "c-1")},
                               headers={"origin": GLOBEX_ORIGIN})
        assert status == 200, body
    status, _, shown = http(dev_stack, "GET", "/admin/tenant", token=token)
    assert new not in str(shown) and GLOBEX_SECRET not in str(shown)
    assert len(shown["previous_secrets_until"]["identity"]) == 1
    # a second rotation with no grace: the first rotation's secret stops at once, the seeded one
    # keeps its own grace
    status, _, again = http(dev_stack, "POST", "/admin/tenant/identity-secret", {"grace_seconds": 0}, token=token)
    settled()
    status, _, body = http(dev_stack, "POST", "/auth/external", {"tenant": GLOBEX, "user": signed(new, "c-1")},
                           headers={"origin": GLOBEX_ORIGIN})
    assert (status, body["code"]) == (401, "invalid_identity")
    status, _, body = http(dev_stack, "POST", "/auth/external",
                           {"tenant": GLOBEX, "user": signed(again["secret"], "c-1")},
                           headers={"origin": GLOBEX_ORIGIN})
    assert status == 200


def test_a_closed_conversation_shows_in_reports_csv_and_search(dev_stack):
    word = f"zebra{uuid.uuid4().hex[:8]}"

    async def scenario() -> str:
        gus_tokens = staff(dev_stack, GLOBEX_ADMIN, tenant=GLOBEX)
        gus = await ChatClient.connect(dev_stack.ws, gus_tokens["chat_token"], GLOBEX_ORIGIN)
        guest = await ChatClient.connect(dev_stack.ws, visitor(dev_stack, GLOBEX, GLOBEX_ORIGIN)["chat_token"],
                                         GLOBEX_ORIGIN)
        try:
            channel = (await guest.ok("support.open"))["channel"]
            await guest.ok("message.send", channel_id=channel["id"], text=f"my {word} is broken", client_id="a")
            await gus.ok("message.send", channel_id=channel["id"], text="Let me look", client_id="b")
            await gus.ok("channel.close", channel_id=channel["id"])
            return str(gus_tokens["user"]["id"])
        finally:
            await guest.close()
            await gus.close()

    gus_id = run(scenario())
    token = admin_token(dev_stack)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    status, _, report = http(dev_stack, "GET", f"/admin/reports?from={today}&to={today}&operator={gus_id}",
                             token=token)
    assert status == 200, report
    assert report["totals"]["conversations"] >= 1 and report["totals"]["first_response_p50"] is not None
    assert [o["operator"] for o in report["operators"]] == [gus_id]
    assert [d["day"] for d in report["days"]] == [today]
    req = urllib.request.Request(f"{dev_stack.http}/admin/reports?from={today}&to={today}",
                                 headers={"authorization": f"Bearer {token}", "accept": "text/csv"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.read().decode())))
    assert any(row["row"] == "total" and int(row["conversations"]) >= 1 for row in rows)
    status, _, found = http(dev_stack, "GET", f"/admin/search?q={word.upper()}&from={today}&to={today}", token=token)
    assert status == 200, found
    assert len(found["items"]) == 1 and word in found["items"][0]["snippet"]
    status, _, none = http(dev_stack, "GET", f"/admin/search?q=x%27%20OR%20%271%27%3D%271&from={today}&to={today}",
                           token=token)
    assert status == 200 and none["items"] == []
