"""Secrets Manager rotation of the signing key set (the four-step protocol).

* ``createSecret``: put ``rotate_keyset(current)`` as the AWSPENDING version (idempotent:
  a retried step finds the pending version and leaves it).
* ``setSecret``: nothing to configure elsewhere - the keys live only in the secret.
* ``testSecret``: the pending set must parse and sign/verify a probe token.
* ``finishSecret``: write the pending set's public keys to the verification secret
  (``VERIFY_KEYS_SECRET_ID``: what functions that only verify tokens read; they cannot read
  private keys), then move AWSCURRENT to the pending version. A failure in between fails the
  step, and Secrets Manager runs it again.

Containers pick the new set up within ``KEYS_CACHE_SECONDS``. The new key signs only once
every container has had time to do so (``active_from``, see :mod:`switchboard.tokens.keys`), and
the old key stays in the set as long as tokens it signed may live, so nothing fails during
the switch - nor after two rotations in a row.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from switchboard.container import per_container
from switchboard.settings import get_settings
from switchboard.tokens.keys import PUBLISH_MARGIN, keyring_from_value, public_keyset, rotate_keyset

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["rotate_now", "rotate_step"]


@per_container
def _client() -> SecretsManagerClient:
    from switchboard import aws

    made: SecretsManagerClient = aws.client("secretsmanager")
    return made


def _value(secret_id: str, stage: str, token: str | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"VersionStage": stage, **({"VersionId": token} if token else {})}
    raw = _client().get_secret_value(SecretId=secret_id, **kwargs)["SecretString"]
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("the key secret must hold a JSON object")
    return value


def rotate_step(*, step: str, secret_id: str, token: str) -> None:
    """One step of Secrets Manager's rotation. Before invoking ``createSecret``, Secrets Manager
    has labelled the version ``token`` AWSPENDING, with no value yet: that step gives it one."""
    client = _client()
    versions = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    if token not in versions:
        raise ValueError("rotation token is not a version of this secret")
    if "AWSCURRENT" in versions[token]:
        return  # this version is current already: a step run again after the rotation finished
    if "AWSPENDING" not in versions[token]:
        raise ValueError("rotation token is not the version pending rotation")
    if step == "createSecret":
        try:
            _value(secret_id, "AWSPENDING", token)
            return  # a retried step: the pending version has its value already
        except client.exceptions.ResourceNotFoundException:
            pass  # labelled by Secrets Manager, not written yet
        current = _value(secret_id, "AWSCURRENT")
        client.put_secret_value(
            SecretId=secret_id,
            ClientRequestToken=token,
            SecretString=json.dumps(_rotated(current)),
            VersionStages=["AWSPENDING"],
        )
    elif step == "setSecret":
        return
    elif step == "testSecret":
        ring = keyring_from_value(_value(secret_id, "AWSPENDING", token))
        if ring.signer is None:
            raise ValueError("pending key set has no signing key")
        _probe(ring)
    elif step == "finishSecret":
        _publish(_value(secret_id, "AWSPENDING", token))  # verifiers hold the new key before it signs
        current_version = next((v for v, stages in versions.items() if "AWSCURRENT" in stages), None)
        client.update_secret_version_stage(
            SecretId=secret_id,
            VersionStage="AWSCURRENT",
            MoveToVersionId=token,
            **({"RemoveFromVersionId": current_version} if current_version else {}),
        )
    else:
        raise ValueError(f"unknown rotation step {step!r}")


def _probe(ring: Any) -> None:
    """Every key of the set signs a token the set verifies (the staged new key included)."""
    from msgspec.structs import replace

    from switchboard.tokens.access import TokenService

    class _Fixed:
        def __init__(self, ring: Any) -> None:
            self._ring = ring

        def ring(self) -> Any:
            return self._ring

        def refresh(self) -> None:
            return None

    for entry in ring.signers:
        service = TokenService(_Fixed(replace(ring, signers=(entry,))), issuer="probe", access_ttl=60, chat_ttl=60)
        token = service.mint_chat(sub="probe", tid="probe", sid="probe", role="visitor", lvl=0, scopes=(),
                                  name="probe")
        service.verify_chat(token)


def rotate_now(secret_id: str) -> None:
    """Rotate outside Secrets Manager's schedule (the CLI and the local stack use this):
    the same key-set transformation, written as a new AWSCURRENT version."""
    current = _value(secret_id, "AWSCURRENT")
    rotated = _rotated(current)
    _publish(rotated)  # verifiers first, as finishSecret does: no key signs before they hold it
    _client().put_secret_value(SecretId=secret_id, SecretString=json.dumps(rotated))


def _publish(keyset: dict[str, Any]) -> None:
    """Write ``keyset``'s public keys to the verification secret, if this deployment has one."""
    verify_id = get_settings().verify_keys_secret_id
    if verify_id:
        _client().put_secret_value(SecretId=verify_id, SecretString=json.dumps(public_keyset(keyset)))


def _rotated(current: dict[str, Any]) -> dict[str, Any]:
    """The next key set under this deployment's settings: the new key signs once every
    container's cached set holds it; an old key stays while the tokens it signed can live."""
    s = get_settings()
    return rotate_keyset(current, activate_after=s.keys_cache_seconds + PUBLISH_MARGIN,
                         retain=max(s.access_ttl, s.chat_ttl) + 60)
