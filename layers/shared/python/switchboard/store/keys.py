"""Every key of the table, and the access pattern each one serves.

Single-table design: one place builds every ``pk`` / ``sk`` and index key, so a key's shape
is decided (and can be read) once, beside the reads and writes that rely on it. Nothing
outside :mod:`switchboard.store` spells a key (``tests/deploy/test_layer_structure.py``
checks that against :data:`PREFIXES` and :data:`ATTRIBUTES`).

====================  ====================  =====================  =====================================  ===========
item                  pk                    sk                     access patterns                        module
====================  ====================  =====================  =====================================  ===========
tenant                ``T#<tid>``           ``TENANT``             GetItem by tenant id (every sign-in);  staff
                                                                   conditional Put on ``version``
operator              ``T#<tid>``           ``OP#<uid>``           GetItem by id; Query begins_with       staff
                                                                   ``OP#`` lists a tenant's operators
                                                                   (TOTP secrets arrive sealed:
                                                                   sealing.py)
operator email        ``T#<tid>``           ``EMAIL#<email>``      GetItem by email at sign-in; created   staff
                                                                   in the same transaction as the
                                                                   operator, so an email is unique per
                                                                   tenant. A federated sign-in links by
                                                                   it (one read: email -> person)
linked identity       ``T#<tid>``           ``IDP#<kind>#<sub>``   GetItem (consistent) at every          identities
                                                                   federated sign-in: (provider,
                                                                   subject) -> person in one read.
                                                                   Put with attribute_not_exists in one
                                                                   transaction with the operator's
                                                                   ``identities`` map entry (and, for a
                                                                   new operator, the operator and its
                                                                   email pointer, also conditional), so
                                                                   two first sign-ins at once link or
                                                                   create one record: the loser's
                                                                   transaction fails and it reads
                                                                   again. Deleted with the map entry
                                                                   (unlink) or the operator (removal).
                                                                   ``<sub>``: SHA-256 of the subject
SSO sign-in state     ``OIDC#<hash>``       ``STATE``              Put at /auth/oidc/{p}/authorize;
                                                                   conditional Delete ALL_OLD at the
                                                                   callback: single use; TTL 10 min
SSO one-time code     ``OIDC#<hash>``       ``CODE``               Put at the callback; conditional       identities
                                                                   Delete ALL_OLD (unexpired) at
                                                                   /auth/oidc/complete: single use, 60 s
session               ``U#<tid>#<uid>``     ``S#<sid>``            GetItem by (tid, uid, sid), strongly   sessions
                                                                   consistent, on every authenticated
                                                                   call (the ids come from the token);
                                                                   Query begins_with ``S#`` lists a
                                                                   user's sessions (revoke all, scope
                                                                   revocation, GET /auth/sessions) -
                                                                   strongly consistent, so nothing just
                                                                   created is missed
rotated refresh hash  ``U#<tid>#<uid>``     ``RT#<sid>#<gen>``     Put in the rotation's transaction;     sessions
                                                                   GetItem when a refused token's
                                                                   generation was rotated (reuse or a
                                                                   guess); TTL
session by id         GSI1 ``SID#<sid>``    ``SESSION``            an admin revoking a session by id      sessions
                                                                   alone (KEYS_ONLY projection, then
                                                                   GetItem)
audit event           ``T#<tid>#EV``        ``<time-ordered id>``  Query newest first (ScanIndexForward   audit
                                                                   off); a ``sign_in`` is put in one
                                                                   transaction with its new session
invitation            ``T#<tid>``           ``INV#<uid>``          GetItem when the invitee sets a        staff
                                                                   password; deleted with that write
                                                                   (single use), TTL
MFA challenge         ``U#<tid>#<uid>``     ``MFA#<id>``           GetItem by the id in the               staff
                                                                   ``mfa_token``; conditional Delete
                                                                   consumes it once; TTL
password reset        ``U#<tid>#<uid>``     ``PWR#<id>``           Put when a reset link is mailed;       recovery
                                                                   conditional Delete (hash, expiry)
                                                                   in the reset's transaction: once;
                                                                   Query ``PWR#`` drops the rest; TTL
recovery code         ``U#<tid>#<uid>``     ``RC#<digest>``        BatchWrite of 10 when TOTP is          recovery
                                                                   confirmed; conditional Delete by the
                                                                   code's digest uses one once; Query
                                                                   ``RC#`` counts or drops them
device authorization  ``DEV#<id>``          ``DEVICE``             Put with its user code (one            devices
                                                                   transaction); GetItem (consistent)
                                                                   at each poll; conditional updates:
                                                                   approve / deny, poll times, spent
                                                                   once; TTL
device user code      ``UC#<code>``         ``USERCODE``           conditional Put (a code is unique      devices
                                                                   while it lives); GetItem when an
                                                                   admin approves it; TTL
rate-limit counter    ``RL#<key>``          ``H#<hour start>``     one UpdateItem ADD per attempt         audit
chat-action counter   ``RL#ws#<tid>#<uid>`` ``<kind>#<window>``    one UpdateItem ADD per chat action     audit
                                                                   returns the hour's and the minute's
                                                                   counts; TTL
seen once             ``ONCE#<key>``        ``ONCE``               conditional Put: a signed hook         audit
                                                                   request is accepted once (replay
                                                                   refused); TTL
-- chat (WebSocket) --
connection            ``C#<cid>``           ``CONN``               GetItem (consistent) at the start of   connections
                                                                   every action: who, tenant, role,
                                                                   scopes *now*
connection of a user  ``U#<tid>#<uid>``     ``C#<cid>``            Query begins_with ``C#``               connections
                                                                   (consistent): revocation reaches a
                                                                   user's connections
staff presence        ``T#<tid>#OPS``       ``OC#<uid>#<cid>``     one per live operator/admin            connections
                                                                   connection;
staff load            ``T#<tid>#OPS``       ``OP#<uid>``           open assignments and last assignment   connections
                                                                   time; one Query of the partition =
                                                                   who is online and how loaded
                                                                   (assignment)
channel               ``CH#<chid>``         ``META``               GetItem (consistent); GSI2             channels
                                                                   ``ST#<tid>#<status>`` (support
                                                                   channels, queued / open) sorted by
                                                                   ``gsi2sk`` = ``<last activity
                                                                   ms>#<chid>``
membership            ``U#<tid>#<uid>``     ``M#<chid>``           GSI2 ``MEM#<tid>#<uid>``: a user's     channels
                                                                   channels, newest activity first
assignment            ``U#<tid>#<uid>``     ``A#<chid>``           Query begins_with ``A#``: an           channels
                                                                   operator's open channels (requeued
                                                                   when they go offline); GSI2
                                                                   ``ASG#<tid>#<uid>``: their open inbox
open support pointer  ``U#<tid>#<uid>``     ``SUPPORT``            GetItem; conditional Put: one open     channels
                                                                   support channel per visitor, even
                                                                   under races; moved when an anonymous
                                                                   visitor is identified (hand_over)
message               ``CH#<chid>``         ``MSG#<mid>``          Query backwards (history, watch,       channels
                                                                   transcript)
client-id record      ``CH#<chid>``         ``CID#<uid>#<cli>``    conditional Put in the message's       channels
                                                                   transaction: a client_id is stored
                                                                   once
read marker           ``CH#<chid>``         ``R#<uid>``            Put (only forwards)                    channels
watch                 ``CH#<chid>``         ``W#<cid>``            Query begins_with ``W#``: the fan-out  connections
                                                                   list, grows with the channel's
                                                                   watchers only
watch (reverse)       ``C#<cid>``           ``W#<chid>``           Query on disconnect: what to           connections
                                                                   unsubscribe
visitor attributes    ``U#<tid>#<uid>``     ``VATTRS``             Put at sign-in (the latest set, signed  visitors
                                                                   or not); GetItem when a support
                                                                   channel opens (copied onto it)
follow-up due         ``CH#<chid>``         ``FOLLOWUP``           Update when staff reply to a visitor   followups
                                                                   with an email; GSI2 ``FU#due``
                                                                   sorted by ``<due ms>#<chid>``: the
                                                                   scheduled mailer Queries only what
                                                                   is due
resume link           ``RES#<id>``          ``RESUME``             Put with the follow-up mail;           followups
                                                                   conditional delete (hash, expiry):
                                                                   single use
resume link (pointer) ``CH#<chid>``         ``RESL#<id>``          Put beside it, same expiry: erasing    followups
                                                                   the conversation finds and deletes
                                                                   its links (they name the visitor)
====================  ====================  =====================  =====================================  ===========

Expiring items carry ``ttl`` (epoch seconds) so DynamoDB deletes them; reads still check
expiry themselves because TTL deletion lags. No request path uses Scan. Cursors handed to
clients are index keys, encoded and checked in :mod:`switchboard.store.cursors`.
"""

from __future__ import annotations

__all__ = [
    "ASSIGNMENTS", "ATTRIBUTES", "CHANNEL", "CONNECTION", "DEVICE", "GSI1", "GSI1_PK", "GSI1_SK", "GSI2", "GSI2_PK",
    "GSI2_SK", "MESSAGES", "MESSAGES_END", "MFA_CHALLENGES", "ONCE", "OPERATORS", "PK", "PREFIXES", "RECOVERY_CODES",
    "RESETS", "SESSIONS", "SESSION_BY_ID", "SK", "SSO_CODE", "SSO_STATE", "STAFF", "SUPPORT", "TENANT", "TTL",
    "USER_CODE", "USER_CONNECTIONS", "WATCHES", "activity_sort", "assignee_index", "assignment_sk", "channel_of_sort",
    "channel_pk", "client_id_sk", "connection_pk", "device_pk", "email_sk", "events_pk", "identity_sk",
    "invitation_sk", "is_load", "key", "load_sk", "member_index", "membership_sk", "message_sk", "mfa_sk", "once_pk",
    "operator_sk", "presence_sk", "rate_pk", "rate_sk", "read_marker_sk", "recovery_code_sk", "reset_sk",
    "rotated_sk", "session_gsi1pk", "session_sk", "sso_pk", "staff_pk", "status_index", "tenant_pk", "user_code_pk",
    "user_connection_sk", "user_of", "user_pk", "watch_sk"
]

# -- attribute and index names ---------------------------------------------------------------
PK = "pk"
SK = "sk"
TTL = "ttl"
GSI1 = "GSI1"  # sessions by id alone (KEYS_ONLY)
GSI1_PK = "gsi1pk"
GSI1_SK = "gsi1sk"
GSI2 = "GSI2"  # channel lists: by status, by member, by assignee; newest activity first (KEYS_ONLY)
GSI2_PK = "gsi2pk"
GSI2_SK = "gsi2sk"

#: every key prefix the table uses: no string of the layer outside the store starts with one
PREFIXES: tuple[str, ...]
PREFIXES = ("T#", "U#", "OP#", "EMAIL#", "IDP#", "OIDC#", "INV#", "S#", "RT#", "SID#", "MFA#", "RL#", "H#", "ONCE#",
            "C#", "OC#", "CH#", "ST#", "MEM#", "ASG#", "M#", "A#", "MSG#", "CID#", "R#", "W#", "PWR#", "RC#", "DEV#",
            "UC#", "FU#", "RES#")
PREFIXES += ("NOTE#", "LBL#", "CLOSED#", "CANNED#", "SHORTCUT#", "DUE#")  # issue 17 (appended: merges stay simple)
PREFIXES += ("RESL#",)  # a conversation's pointers to its resume links
#: the key attributes and index names: spelled only here (and in the store's expressions)
ATTRIBUTES = (PK, SK, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK)

# -- sort keys that are constants --------------------------------------------------------------
TENANT = "TENANT"
SESSION_BY_ID = "SESSION"
ONCE = "ONCE"
CONNECTION = "CONN"
CHANNEL = "META"
SUPPORT = "SUPPORT"
SSO_STATE = "STATE"
SSO_CODE = "CODE"
DEVICE = "DEVICE"
USER_CODE = "USERCODE"
VISITOR_ATTRIBUTES = "VATTRS"
FOLLOWUP = "FOLLOWUP"
RESUME = "RESUME"
RESUME_LINKS = "RESL#"  # a conversation's resume links, in its partition (erasure finds them)

# -- sort-key prefixes queried with begins_with ------------------------------------------------------
OPERATORS = "OP#"
SESSIONS = "S#"
MFA_CHALLENGES = "MFA#"
RESETS = "PWR#"
RECOVERY_CODES = "RC#"
USER_CONNECTIONS = "C#"
STAFF = "O"  # both OP# (load) and OC# (presence) of the staff partition, one Query
ASSIGNMENTS = "A#"
MESSAGES = "MSG#"
MESSAGES_END = "MSG#~"  # '~' sorts after every id character: the upper bound of a backwards page
WATCHES = "W#"
NOTES = "NOTE#"  # staff-only notes of a support channel: apart from MSG#, so no visitor reader ever reaches one
NOTES_END = "NOTE#~"
LOADS = "OP#"  # the staff partition's load items alone (their caps for GET /admin/operators), no OC# presence
__all__ += ["LOADS"]


def key(pk: str, sk: str) -> dict[str, str]:
    """The primary key of one item, as DynamoDB's Key parameter wants it (before serialising)."""
    return {PK: pk, SK: sk}


# -- tenants and staff ---------------------------------------------------------------------------
def tenant_pk(tenant: str) -> str:
    """A tenant's partition: the tenant item, its operators, their email pointers, invitations."""
    return f"T#{tenant}"


def operator_sk(user_id: str) -> str:
    return f"OP#{user_id}"


def email_sk(email: str) -> str:
    """Emails are compared case-insensitively: the pointer is keyed by the lower-cased address."""
    return f"EMAIL#{email.lower()}"


def identity_sk(kind: str, subject: str) -> str:
    """A linked identity's pointer: ``kind`` is ``oidc:<provider>``, ``cognito`` or ``auth0``;
    the subject is hashed, so any provider's id (any length, any characters) makes a key of
    one bounded shape."""
    import hashlib

    return f"IDP#{kind}#{hashlib.sha256(subject.encode()).hexdigest()}"


def sso_pk(digest: str) -> str:
    """An SSO sign-in's state or one-time code, by the SHA-256 of the value the browser holds."""
    return f"OIDC#{digest}"


def invitation_sk(user_id: str) -> str:
    return f"INV#{user_id}"


def staff_pk(tenant: str) -> str:
    """The tenant's staff presence and load: one Query says who is online and how loaded."""
    return f"T#{tenant}#OPS"


def load_sk(user_id: str) -> str:
    return f"OP#{user_id}"


def presence_sk(user_id: str, connection_id: str) -> str:
    return f"OC#{user_id}#{connection_id}"


def is_load(sk: str) -> bool:
    """Whether an item of the staff partition is a load item (else a presence item)."""
    return sk.startswith("OP#")


# -- a user's partition ------------------------------------------------------------------------
def user_pk(tenant: str, user_id: str) -> str:
    """Everything of one user: sessions, rotated refresh hashes, MFA challenges, connections,
    memberships, assignments, the open support pointer."""
    return f"U#{tenant}#{user_id}"


def user_of(pk: str) -> tuple[str, str]:
    """(tenant, user id) of a :func:`user_pk`: everything after the second ``#`` is the user id."""
    _, tenant, user_id = pk.split("#", 2)
    return tenant, user_id


def session_sk(session_id: str) -> str:
    return f"S#{session_id}"


def session_gsi1pk(session_id: str) -> str:
    return f"SID#{session_id}"


def rotated_sk(session_id: str, gen: int) -> str:
    return f"RT#{session_id}#{gen}"


def mfa_sk(challenge_id: str) -> str:
    return f"MFA#{challenge_id}"


def reset_sk(reset_id: str) -> str:
    return f"PWR#{reset_id}"


def recovery_code_sk(digest: str) -> str:
    return f"RC#{digest}"


def user_connection_sk(connection_id: str) -> str:
    return f"C#{connection_id}"


def membership_sk(channel_id: str) -> str:
    return f"M#{channel_id}"


def assignment_sk(channel_id: str) -> str:
    return f"A#{channel_id}"


# -- audit and counters -----------------------------------------------------------------------------
def events_pk(tenant: str) -> str:
    """A tenant's audit events; the sort key is the event's time-ordered id."""
    return f"T#{tenant}#EV"


def rate_pk(counter: str) -> str:
    return f"RL#{counter}"


def rate_sk(hour_start: int) -> str:
    return f"H#{hour_start}"


def action_rate_pk(tenant: str, user_id: str) -> str:
    """A user's chat-action counters (chat_limits): one item per action kind and window."""
    return f"RL#ws#{tenant}#{user_id}"


def action_rate_sk(kind: str, window_start: int) -> str:
    return f"{kind}#{window_start}"


def action_connection_attr(connection_id: str) -> str:
    """The attribute of a user's counter item that counts one of their connections."""
    return f"c#{connection_id}"


def device_pk(device_id: str) -> str:
    """A device authorization (RFC 8628): made before anyone knows the tenant, so a partition of its own."""
    return f"DEV#{device_id}"


def user_code_pk(user_code: str) -> str:
    return f"UC#{user_code}"


def once_pk(seen: str) -> str:
    return f"ONCE#{seen}"


# -- connections and channels ----------------------------------------------------------------------
def connection_pk(connection_id: str) -> str:
    return f"C#{connection_id}"


def channel_pk(channel_id: str) -> str:
    return f"CH#{channel_id}"


def message_sk(message_id: str) -> str:
    return f"MSG#{message_id}"


def client_id_sk(sender_id: str, client_id: str) -> str:
    return f"CID#{sender_id}#{client_id}"


def read_marker_sk(user_id: str) -> str:
    return f"R#{user_id}"


def watch_sk(other_id: str) -> str:
    """``W#<cid>`` under a channel, ``W#<chid>`` under a connection: both halves of a watch."""
    return f"W#{other_id}"


# -- GSI2: channel lists -------------------------------------------------------------------------
def status_index(tenant: str, status: str) -> str:
    """A tenant's support channels of one status (queued / open), on the channel item."""
    return f"ST#{tenant}#{status}"


def member_index(tenant: str, user_id: str) -> str:
    """A user's channels, on the membership items."""
    return f"MEM#{tenant}#{user_id}"


def assignee_index(tenant: str, user_id: str) -> str:
    """An operator's open assignments, on the assignment items."""
    return f"ASG#{tenant}#{user_id}"


def activity_sort(ms: int, channel_id: str) -> str:
    """``gsi2sk``: last activity (15 digits, so strings sort as numbers), then the channel id."""
    return f"{ms:015d}#{channel_id}"


def channel_of_sort(sort: str) -> str:
    """The channel id of an :func:`activity_sort` key."""
    return sort.split("#", 1)[1]


# -- issue 17: the operators' side of the support day (appended) ---------------------------------------
def note_sk(message_id: str) -> str:
    """A private note (``message.send`` with ``internal``): under the channel like a message but
    under its own prefix, so that the visitor's readers (which query ``MSG#`` only) cannot
    return one, whatever their filter."""
    return f"NOTE#{message_id}"


def label_index(tenant: str, label: str) -> str:
    """GSI2: a tenant's support channels carrying one label (on a label item under the channel)."""
    return f"LBL#{tenant}#{label}"


def label_sk(label: str) -> str:
    """A channel's label item (``CH#<chid>`` / ``LBL#<label>``), listed in GSI2 by :func:`label_index`."""
    return f"LBL#{label}"


def closed_index(tenant: str) -> str:
    """GSI2: a tenant's closed support channels, newest close first (on the channel item, set at
    close: a closed channel leaves ``ST#`` and joins this list)."""
    return f"CLOSED#{tenant}"


def due_index(shard: int = 0) -> str:
    """GSI1 (sparse): support channels waiting for someone - queued, or a visitor's message
    unanswered - with ``gsi1sk`` = :func:`activity_sort` of the time they started waiting, so
    the sweep reads only those waiting longer than N minutes, oldest first. One partition of
    all tenants (the sweep knows no tenants and must not Scan); ``shard`` is there for when one
    partition's write rate is not enough."""
    return f"DUE#{shard}"


def canned_sk(canned_id: str) -> str:
    """A canned reply of the tenant (``T#<tid>`` / ``CANNED#<id>``)."""
    return f"CANNED#{canned_id}"


def shortcut_sk(shortcut: str) -> str:
    """A canned reply's shortcut pointer (``T#<tid>`` / ``SHORTCUT#<s>``): one per tenant."""
    return f"SHORTCUT#{shortcut}"


CANNED = "CANNED#"
LABELS = "LBL#"

__all__ += [  # issue 17 (appended: merges stay simple)
    "CANNED", "LABELS", "NOTES", "NOTES_END", "canned_sk", "closed_index", "due_index", "label_index", "label_sk",
    "note_sk", "shortcut_sk",
]


# -- follow-up mail ------------------------------------------------------------------------------
def followup_index() -> str:
    """GSI2's partition of conversations whose follow-up mail is due (sorted by due time)."""
    return "FU#due"


def resume_pk(resume_id: str) -> str:
    """A follow-up mail's single-use link back into its conversation."""
    return f"RES#{resume_id}"


def resume_link_sk(resume_id: str) -> str:
    """The conversation's pointer to one of its resume links (``CH#<chid>`` / ``RESL#<id>``)."""
    return f"{RESUME_LINKS}{resume_id}"
# -- outbound events (issue 19) --------------------------------------------------------------------
#: ``CH#<chid>`` / ``EVT#<event id>`` (an event about a conversation: in its partition, so erasing
#: the conversation erases it) or ``EVT#<event id>`` / ``EVT#<event id>`` (any other): an outbound
#: event, written in the same transaction as the change it tells of (the transactional outbox).
#: Nothing reads it by key: the table's stream carries the INSERT to the events dispatcher
#: (template: EventsDispatchFunction, filtered on ``sk`` beginning with EVT#). TTL 3 days: by then
#: the stream (24 h) has long handed it on.
# appended, not written into PREFIXES' own line, so merges of that line stay simple
PREFIXES = (*PREFIXES, "EVT#")
EVENTS = "EVT#"
__all__ += ["EVENTS", "event_pk", "event_sk"]


def event_pk(event_id: str) -> str:
    """The partition of an outbound event about no conversation (one item per event)."""
    return f"EVT#{event_id}"


def event_sk(event_id: str) -> str:
    return f"EVT#{event_id}"
