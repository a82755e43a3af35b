"""Operator passwords: argon2id at OWASP's parameters via argon2-cffi.

``verify`` costs the same whether or not the account exists (it checks a dummy hash
for unknown emails), so timing cannot tell an attacker which emails are operators.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["hash_password", "needs_rehash", "verify_password"]

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
MAX_PASSWORD_BYTES = 1024  # argon2 hashes anything, but an unbounded input is a free CPU burn


#: verified against for unknown emails, so they cost exactly one verification like a known one;
#: made ahead (not at first use, which would cost one hash more once per container) with the
#: parameters above - a test fails if they change and this is not made anew
DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$sq5Lrc7gmT0QIq6tnfQpiw$Oh6PcVJHgKceKYAz7gDA3+RZmSzrSCEEh0XNi9cy0Pk"


def _dummy_hash() -> str:
    return DUMMY_HASH


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if ``password`` matches. With no stored hash, burns one verification anyway."""
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (rehash on login)."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
