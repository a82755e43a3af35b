from tests.conftest import ADMIN, TENANT


def test_admin_signs_in_and_reads_me(call, tokens_for):
    # Given an admin of the seeded tenant
    tokens = tokens_for(ADMIN)
    # When they call /auth/me with their access token
    me = call("GET /auth/me", token=tokens["access_token"])
    # Then they see themselves, with admin scopes
    assert me["status"] == 200, me
    assert me["json"]["user"]["role"] == "admin"
    assert "admin:sessions" in me["json"]["scopes"]
    assert tokens["user"]["level"] == 3 and tokens["token_type"] == "Bearer"
    assert me["json"]["session"]["method"] == "password"
    assert TENANT
