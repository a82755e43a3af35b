"""The one door to DynamoDB: one table, one door per kind of record.

Nothing else in Switchboard imports boto3's DynamoDB, spells a key or reads a cursor
(``tests/deploy/test_layer_structure.py`` holds that). Inside:

* :mod:`~switchboard.store.keys` - every key and index key, with the table of access patterns;
* :mod:`~switchboard.store.dynamo` - the client and the primitives (get, put, conditional
  updates, queries, transactions, batches with their retries) and AWS errors turned into
  domain errors;
* :mod:`~switchboard.store.codecs` - records to items and back;
* :mod:`~switchboard.store.cursors` - opaque cursors, encoded and checked;
* one module per kind of record: :mod:`~switchboard.store.staff` (tenants, operators,
  invitations, second factor), :mod:`~switchboard.store.identities` (linked identities, SSO
  states and one-time codes), :mod:`~switchboard.store.sessions` (sessions, refresh tokens),
  :mod:`~switchboard.store.channels` (channels, memberships, assignments, messages, read
  markers), :mod:`~switchboard.store.connections` (connections, watches, staff presence and
  load), :mod:`~switchboard.store.audit` (audit events, rate-limit and seen-once counters),
  :mod:`~switchboard.store.recovery` (password reset links, TOTP recovery codes),
  :mod:`~switchboard.store.devices` (the command line's device sign-ins),
  :mod:`~switchboard.store.visitors` (a website visitor's attributes),
  :mod:`~switchboard.store.followups` (follow-up mail due, resume links);
* :mod:`~switchboard.store.transactions` - the writes that span kinds.

Why a facade: callers hold one :class:`Store` (``svc.store``, made once per container with
one lazily made client) and reach a kind through it - ``store.sessions.get(key)``,
``store.channels.query(tenant, member=user, ...)`` - so the call says which records it
touches, while constructing, passing around and faking the store stays one object, as
before. It has no operations of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchboard.store.audit import AuditLog, Counters
from switchboard.store.canned import Canned
from switchboard.store.channels import Channels, Messages
from switchboard.store.connections import Connections, Presence, Watchers
from switchboard.store.devices import Devices
from switchboard.store.dynamo import Table, dynamodb_client
from switchboard.store.events import Outbox
from switchboard.store.followups import Followups
from switchboard.store.identities import Identities
from switchboard.store.privacy import PersonalData
from switchboard.store.recovery import Recovery
from switchboard.store.sessions import Sessions
from switchboard.store.staff import Staff, Tenants
from switchboard.store.visitors import Visitors

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["Store", "dynamodb_client", "make_store"]


class Store:
    """The table, and a door per kind of record. ``client`` and ``table`` (its name) are
    there for tests and tools that look at the stored items themselves."""

    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._table = Table(table, client)
        self.tenants = Tenants(self._table)
        self.staff = Staff(self._table)
        self.identities = Identities(self._table)
        self.sessions = Sessions(self._table)
        self.channels = Channels(self._table)
        self.messages = Messages(self._table)
        self.connections = Connections(self._table)
        self.watchers = Watchers(self._table)
        self.presence = Presence(self._table)
        self.events = AuditLog(self._table)
        self.counters = Counters(self._table)
        self.recovery = Recovery(self._table)
        self.devices = Devices(self._table)
        self.visitors = Visitors(self._table)
        self.followups = Followups(self._table)
        self.canned = Canned(self._table)
        self.outbox = Outbox(self._table)
        self.privacy = PersonalData(self._table)

    @property
    def client(self) -> DynamoDBClient:
        return self._table.client


def make_store(table: str) -> Store:
    return Store(table)
