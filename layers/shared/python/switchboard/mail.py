"""Mail Switchboard sends to people (password reset links today; follow-up mail later), through
Amazon SES.

One small door, apart from any one feature: a caller names a template and its parameters
(:data:`TEMPLATES`, plain text only: no HTML to escape, every link readable in full), and
:class:`Mailer` renders it and sends it from the configured address (``MAIL_FROM``). The SES v2
``SendEmail`` call carries the message raw (MIME, with its own ``Date`` and ``Message-ID``)
rather than as "simple" content: the mail is then exactly what the recipient gets, and the local
stack's outbox reads the time it was sent from the message itself. IAM: ``ses:SendEmail`` on the
sending identity, for the one from-address (the template's condition), and nothing else.

What a caller must keep out of the log: the parameters (a reset link is a credential). This
module logs neither them nor the rendered text.
"""

from __future__ import annotations

import re
import threading
from string import Template
from typing import Any

import msgspec

from switchboard.errors import Unavailable

__all__ = ["ADDRESS", "ADDRESS_PATTERN", "TEMPLATES", "Mailer", "Rendered", "render"]

#: one plain address (RFC 5322's addr-spec as people type it: dot-separated atoms, no quoting,
#: no comments, no display name, no list): what a visitor or an admin may give us to mail. A
#: comma, angle brackets, a colon or semicolon would make the To header name other or several
#: recipients, and an address SES refuses would be tried again at every run (the probe sent
#: ``x,y@b.co``). ASCII only (RFC 5322's atext): SES takes 7-bit addresses, so a non-ASCII one
#: would fail at every try. The domain needs a dot. Written so that it reads the same as a
#: JavaScript (JSON Schema) pattern in docs/openapi.json: ``$`` inside the lookahead is safe, as
#: no atom holds a line break and the final ``\Z`` anchors.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
ADDRESS_PATTERN = rf"^(?=[^@]{{1,64}}@)(?=.{{3,254}}$){_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})+\Z"
ADDRESS = re.compile(ADDRESS_PATTERN)


class Rendered(msgspec.Struct, frozen=True):
    subject: str
    text: str

    def __repr__(self) -> str:  # the text holds links that are credentials
        return f"Rendered(subject={self.subject!r})"


#: name -> (subject, text), ``string.Template`` placeholders (``$name``): a parameter that is
#: missing is an error (``substitute``), never an empty hole in a mail
TEMPLATES: dict[str, tuple[str, str]] = {
    "password_reset": (
        "Reset your $tenant_name password",
        "Hello $name,\n\n"
        "Someone (we hope you) asked to reset the password of your $tenant_name support account.\n"
        "To choose a new password, open this link within $minutes minutes:\n\n"
        "$link\n\n"
        "The link works once. If you did not ask for it, ignore this mail: your password stays as it is.\n",
    ),
    # contract section 8: staff replies the visitor was not there to see (chat/followup.py)
    "followup": (
        "$tenant_name answered you",
        "Hello,\n\n"
        "$tenant_name answered you in the chat:\n\n"
        "$messages\n\n"
        "To go on with the conversation, open this link within 7 days (it works once):\n\n"
        "$link\n\n"
        "You get this mail because you left this address in the chat on $tenant_name's website.\n",
    ),
    # the same in Spanish, for a visitor whose widget spoke Spanish (``<name>.<language>``)
    "followup.es": (
        "$tenant_name te ha respondido",
        "Hola:\n\n"
        "$tenant_name te ha respondido en el chat:\n\n"
        "$messages\n\n"
        "Para seguir con la conversación, abre este enlace en los próximos 7 días (funciona una vez):\n\n"
        "$link\n\n"
        "Recibes este correo porque dejaste esta dirección en el chat del sitio web de $tenant_name.\n",
    ),
}


def render(template: str, params: dict[str, Any], *, language: str | None = None) -> Rendered:
    """The subject and text of ``template`` with ``params`` filled in, in ``language`` when the
    template has it (``<template>.<language>``), else as written (KeyError: unknown template or a
    parameter missing)."""
    subject, text = TEMPLATES.get(f"{template}.{language}") or TEMPLATES[template]
    values = {k: str(v) for k, v in params.items()}
    return Rendered(subject=Template(subject).substitute(values), text=Template(text).substitute(values))


class Mailer:
    """Sends rendered templates through SES from ``sender``. The SES client is made on first
    use (functions that never mail never load it) and kept for the container."""

    def __init__(self, sender: str, client: Any = None) -> None:
        self.sender = sender
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from botocore.config import Config

                    from switchboard import aws

                    self._client = aws.client("sesv2", config=Config(
                        connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 2}))
        return self._client

    def message(self, to: str, rendered: Rendered) -> bytes:
        """The MIME message as it is sent: plain text, UTF-8."""
        from email.message import EmailMessage
        from email.utils import formatdate, make_msgid

        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = rendered.subject
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[-1].strip("> "))
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to this
        msg.set_content(rendered.text)
        return msg.as_bytes()

    def send(self, *, to: str, template: str, params: dict[str, Any], language: str | None = None) -> str:
        """Render ``template`` (in ``language`` where it has it) and send it to ``to``; the SES
        message id. :class:`Unavailable` if SES refuses or cannot be reached (the caller decides
        what its client hears)."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not ADDRESS.match(to):  # one plain address, never a list or a header (refused earlier too)
            raise ValueError("not one plain e-mail address")
        raw = self.message(to, render(template, params, language=language))
        try:
            resp = self.client.send_email(FromEmailAddress=self.sender, Destination={"ToAddresses": [to]},
                                          Content={"Raw": {"Data": raw}})
        except (BotoCoreError, ClientError) as exc:
            raise Unavailable("mail could not be sent") from exc
        return str(resp["MessageId"])
