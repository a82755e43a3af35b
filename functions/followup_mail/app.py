"""FollowupMail - every minute: mail visitors the staff replies they were not there to see
(contract section 8; the flow in switchboard/chat/followup.py)."""

from typing import Any

from switchboard.chat import followup_mail
from switchboard.observability import logger
from switchboard.runtime import services


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return followup_mail.send_due(services())
