"""Getting back into an account: password reset links and TOTP recovery codes, each an item
of its own in the user's partition (the operator's item is not touched but by the reset's
new password).

Keys: ``U#<tid>#<uid>`` / ``PWR#<id>`` (a reset link: the SHA-256 of its secret, expiry, TTL) and
``U#<tid>#<uid>`` / ``RC#<digest>`` (a recovery code: the key *is* its digest, so using one is a
single conditional delete). See :mod:`switchboard.store.keys`.
"""

from __future__ import annotations

from typing import Any

from switchboard.errors import Unavailable
from switchboard.store import keys
from switchboard.store.dynamo import UNAVAILABLE, Cancelled, Table

__all__ = ["Recovery"]


class Recovery:
    """Reset links and recovery codes."""

    def __init__(self, table: Table) -> None:
        self._table = table

    # -- password reset links ----------------------------------------------------------------------
    def put_reset(self, tenant_id: str, user_id: str, reset_id: str, token_hash: str, *, expires_at: int) -> None:
        self._table.put({"pk": keys.user_pk(tenant_id, user_id), "sk": keys.reset_sk(reset_id), "hash": token_hash,
                         "expires_at": expires_at, "ttl": expires_at})

    def get_reset(self, tenant_id: str, user_id: str, reset_id: str) -> dict[str, Any] | None:
        """``{"hash", "expires_at"}`` of a reset link, or None."""
        return self._table.get(keys.user_pk(tenant_id, user_id), keys.reset_sk(reset_id), consistent=True)

    def use_reset(self, tenant_id: str, user_id: str, reset_id: str, token_hash: str, *, now: int,
                  password_hash: str) -> bool:
        """Spend the link and set the new password, in one transaction: True exactly once, for
        the right, unexpired link of an operator who is still there, not blocked, and still has a
        password (one who signs in only through an identity provider gets none by mail)."""
        try:
            self._table.write_transaction([
                self._table.delete_item(keys.user_pk(tenant_id, user_id), keys.reset_sk(reset_id),
                                        condition="#h = :h AND expires_at > :now", names={"#h": "hash"},
                                        values={":h": token_hash, ":now": now}),
                self._table.update_item(keys.tenant_pk(tenant_id), keys.operator_sk(user_id),
                                        "SET password_hash = :p", {":p": password_hash, ":no": False},
                                        # still has a password: a link mailed before the password was
                                        # unlinked (SSO only since) adds none back
                                        condition="attribute_exists(pk) AND blocked = :no "
                                                  "AND attribute_exists(password_hash)"),
            ])
        except Cancelled as exc:
            if exc.conditional:
                return False
            raise Unavailable(UNAVAILABLE) from exc
        return True

    def drop_resets(self, tenant_id: str, user_id: str) -> int:
        """Every other reset link of the user (after a reset, or a password change)."""
        return self._drop(tenant_id, user_id, keys.RESETS)

    # -- TOTP recovery codes -------------------------------------------------------------------------
    def replace_codes(self, tenant_id: str, user_id: str, digests: list[str]) -> None:
        """The user's recovery codes are these (earlier ones are dropped first)."""
        self._drop(tenant_id, user_id, keys.RECOVERY_CODES)
        pk = keys.user_pk(tenant_id, user_id)
        self._table.batch_put([{"pk": pk, "sk": keys.recovery_code_sk(d), "hash": d} for d in digests])

    def has_code(self, tenant_id: str, user_id: str, digest: str) -> bool:
        return self._table.get(keys.user_pk(tenant_id, user_id), keys.recovery_code_sk(digest),
                               consistent=True) is not None

    def use_code(self, tenant_id: str, user_id: str, digest: str) -> bool:
        """Delete the code of this digest: True exactly once (a conditional delete, so two
        requests racing with one code cannot both win)."""
        return self._table.delete_if(keys.user_pk(tenant_id, user_id), keys.recovery_code_sk(digest),
                                     condition="#h = :h", names={"#h": "hash"}, values={":h": digest})

    def count_codes(self, tenant_id: str, user_id: str) -> int:
        return sum(1 for _ in self._table.query(keys.user_pk(tenant_id, user_id), keys.RECOVERY_CODES,
                                                consistent=True))

    def drop_codes(self, tenant_id: str, user_id: str) -> int:
        """Every recovery code of the user (MFA turned off, by them or by an admin)."""
        return self._drop(tenant_id, user_id, keys.RECOVERY_CODES)

    def _drop(self, tenant_id: str, user_id: str, prefix: str) -> int:
        found = [keys.key(r["pk"], r["sk"]) for r in self._table.query(keys.user_pk(tenant_id, user_id), prefix,
                                                                         consistent=True)]
        self._table.batch_delete(found)
        return len(found)
