"""KeyRotation - the Secrets Manager rotation function for the signing key set.

Secrets Manager calls it in four steps (createSecret, setSecret, testSecret,
finishSecret). A new ES256 key goes in front; the previous key stays behind it so tokens
signed before the rotation keep verifying until they expire. The template rotates
immediately on creation, which is how a fresh stack gets its first key.
"""

from typing import Any

from switchboard.observability import logger, published
from switchboard.tokens import key_rotation


@logger.inject_lambda_context(clear_state=True)
@published  # what the handler recorded is written out (one EMF line)
def handler(event: dict[str, Any], context: Any) -> None:
    key_rotation.rotate_step(step=event["Step"], secret_id=event["SecretId"], token=event["ClientRequestToken"])
