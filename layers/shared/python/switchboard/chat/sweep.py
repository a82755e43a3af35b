"""The support sweep (contract section 8, issue 17): run every minute by the ``SupportSweep``
function's schedule, it moves on every support conversation that has waited too long.

* A *queued* chat nobody claimed within N minutes goes to the least-loaded available operator
  (online, not away, under their ``max_chats``); if nobody can take it, it stays queued and is
  looked at again N minutes later.
* An *assigned* chat whose operator has not answered within N minutes - N minutes after its
  assignment, or after the visitor's oldest unanswered message - is taken back and given to
  the next available operator (never the one it is taken from), or back to the queue. A chat
  the visitor has written nothing in has nothing to answer: it leaves the list.

Nothing is lost: every move is a conditional transaction (a chat claimed, answered or closed
meanwhile is left as it is now), and a chat goes back to the queue rather than nowhere.

The cost follows the number of chats that are due, not the number of chats: one Query of
the sparse GSI1 list (``store.channels.waiting``), one BatchGetItem, then per due chat its
move (bench/, "The support sweep"). N: ``REASSIGN_AFTER_SECONDS`` (the template's
``ReassignAfterMinutes``, default 5 minutes).
"""

from __future__ import annotations

from typing import Any

from switchboard.chat import actions
from switchboard.chat.context import ChatContext
from switchboard.errors import Conflict
from switchboard.observability import logger

__all__ = ["MAX_PER_RUN", "run"]

#: chats moved per run at most (the oldest first); more wait for the next minute's run
MAX_PER_RUN = 100


def run(ctx: ChatContext, *, now_ms: int, after_ms: int) -> dict[str, Any]:
    """Move on every support chat waiting since before ``now_ms - after_ms``. Returns what it
    did, by outcome (for the log and the tests)."""
    due = ctx.store.channels.get_many(ctx.store.channels.waiting(before_ms=now_ms - after_ms, limit=MAX_PER_RUN))
    done: dict[str, int] = {"due": len(due), "assigned": 0, "requeued": 0, "still_queued": 0, "nothing_to_answer": 0,
                            "changed": 0}
    for ch in due:
        try:
            done[_move(ctx, ch, now_ms=now_ms)] += 1
        except Conflict:  # claimed, answered or closed meanwhile: as it is now
            done["changed"] += 1
    logger.info("support sweep", extra=done)
    return done


def _move(ctx: ChatContext, ch: Any, *, now_ms: int) -> str:
    if ch.status == "queued":
        assigned = actions.reassign(ctx, ch, from_queue=True)
        if assigned.status == "queued":
            ctx.store.channels.wait_again(ch, now_ms=now_ms)
            return "still_queued"
        return "assigned"
    if ch.status != "open" or ch.assignee is None:
        ctx.store.channels.stop_waiting(ch)
        return "changed"
    if ch.last_message_at == ch.created_at:  # the visitor has written nothing: nothing to answer
        ctx.store.channels.stop_waiting(ch)
        return "nothing_to_answer"
    moved = actions.take_back(ctx, ch)
    return "assigned" if moved.status == "open" else "requeued"
