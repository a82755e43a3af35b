"""Fixtures the chat tests share (a module may define its own ``room`` for another setting)."""

from __future__ import annotations

import pytest

from tests.chat_support import visitor_tokens
from tests.conftest import OPERATOR


@pytest.fixture
def room(chat, call, tokens_for):
    """An operator online, a visitor whose support channel the operator got; both watching."""
    otto = chat.connect(tokens_for(OPERATOR))
    guest = chat.connect(visitor_tokens(call))
    channel = guest.ok("support.open")["channel"]
    for who in (otto, guest):
        who.ok("channel.watch", channel_id=channel["id"])
    return guest, otto, channel
