"""Secrets Switchboard must read back, sealed under a KMS key: operators' TOTP secrets, and
tenants' identity, hook and webhook secrets (``tenant_secret_context``).

A password is stored as a one-way argon2id hash; a TOTP secret cannot be, because every
code check needs the secret itself. So it is encrypted with AWS KMS (``TotpKey`` in
``template.yaml``) before it reaches the table, and decrypted only when a code is checked:

* **Whoever reads the table does not get second factors.** A leaked backup or export, or
  a role that may read the table, yields ciphertext. Decrypting takes ``kms:Decrypt`` on
  that key, which only the MFA and TOTP functions have, and every use is in CloudTrail.
* **A sealed secret opens only for its operator.** The encryption context (``purpose``,
  ``tenant``, ``user_id``) is bound to the ciphertext: copied into another operator's
  item, it does not decrypt (:class:`SealBroken`).
* **Cost:** one KMS call when a secret is sealed (enrolment, seeding) and one per code
  checked (``/auth/mfa``, confirm, disable). KMS encrypts directly up to 4 KB, so no data
  key and no local cipher are needed.

Stored form: ``kms1:`` + base64 of KMS's ``CiphertextBlob``. A value without that prefix
is a plaintext secret stored before sealing existed: it is used as it is, and sealed at its
operator's next MFA sign-in (docs/architecture.md, "Second factor").
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Mapping
from typing import Any

from switchboard.errors import SwitchboardError, Unavailable

__all__ = ["PREFIX", "SealBroken", "Sealer", "tenant_secret_context", "totp_context"]

PREFIX = "kms1:"


class SealBroken(SwitchboardError):
    """A sealed value that does not open: altered, moved to another record, or sealed under
    another key. Never a caller's mistake; callers answer as for a wrong code."""


def totp_context(tenant: str, user_id: str) -> dict[str, str]:
    """The encryption context of an operator's TOTP secret (the template's key policy
    allows only ``purpose`` = ``totp`` to the functions)."""
    return {"purpose": "totp", "tenant": tenant, "user_id": user_id}


def tenant_secret_context(tenant: str, kind: str) -> dict[str, str]:
    """The encryption context of a tenant's ``identity``, ``hook`` or ``webhook:<id>`` secret:
    sealed for one tenant and one use, it opens for no other (the functions' key grants name
    ``purpose`` = ``tenant-secret``, so a TOTP grant does not open these, nor the reverse)."""
    return {"purpose": "tenant-secret", "tenant": tenant, "kind": kind}


class Sealer:
    """Seals and opens short secrets with one KMS key (an id, ARN or ``alias/...``). The
    KMS client is made on first use: functions that never touch a second factor pay nothing."""

    def __init__(self, key_id: str, *, client: Any = None) -> None:
        self._key_id = key_id
        self._client: Any = client  # a KMS client of the caller's (the seed command's session)
        self._lock = threading.Lock()

    def client(self) -> Any:
        """The KMS client, made on first use."""
        with self._lock:
            if not self._key_id:
                raise Unavailable("second factors are not configured (TOTP_KEY_ID is empty)")
            if self._client is None:
                from switchboard import aws

                self._client = aws.client("kms")
            return self._client

    def seal(self, secret: str, *, context: Mapping[str, str]) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            blob = self.client().encrypt(KeyId=self._key_id, Plaintext=secret.encode(),
                                       EncryptionContext=dict(context))["CiphertextBlob"]
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable("the key service is not available") from exc
        return PREFIX + base64.b64encode(blob).decode()

    def open(self, stored: str, *, context: Mapping[str, str]) -> str:
        """The secret in ``stored``; raises :class:`SealBroken` if it does not open."""
        if not stored.startswith(PREFIX):
            return stored  # stored before sealing existed (see the module's docstring)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            blob = base64.b64decode(stored[len(PREFIX):], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SealBroken("a sealed secret is damaged") from exc
        try:
            # KeyId pins the key: a blob sealed under any other key is refused, not decrypted
            plain: bytes = self.client().decrypt(CiphertextBlob=blob, KeyId=self._key_id,
                                               EncryptionContext=dict(context))["Plaintext"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("InvalidCiphertextException", "IncorrectKeyException"):
                raise SealBroken("a sealed secret does not open for this record") from exc
            raise Unavailable("the key service is not available") from exc
        except BotoCoreError as exc:
            raise Unavailable("the key service is not available") from exc
        return plain.decode()
