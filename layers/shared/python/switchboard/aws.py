"""AWS clients: every client the layer makes comes from :func:`client`.

One boto3 session for all of them (a second session would load botocore's data again,
~35 ms), and on it a botocore loader that does not walk every service botocore knows.

Why the loader: before loading a service's model, botocore's ``Loader.load_service_model``
lists *every* service in its data directory (~400 directories: ~900 ``listdir`` and ~2,800
``stat`` calls) only to check that the one asked for is among them. That walk was ~19 ms of
the first client of every cold start, 40% of making a DynamoDB client (bench/: "Cold
start", setup column). :class:`ServiceLoader` answers "is ``dynamodb`` a service?" by
looking for ``dynamodb`` alone; asked for the whole list (``Session.get_available_services``,
an error message), it still walks everything. Loaders are a botocore extension point
(``Session.register_component("data_loader", ...)``); nothing else changes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any, overload

import boto3
import botocore.session
from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader

__all__ = ["ServiceLoader", "client"]

_lock = threading.Lock()


class _ServiceNames(Sequence[str]):
    """``in`` checks one service; anything else (iterating, ``len``, indexing, ``==``) lists
    them all, with botocore's walk, as the list botocore would have returned."""

    def __init__(self, loader: ServiceLoader, type_name: str) -> None:
        self._loader, self._type = loader, type_name

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            return bool(self._loader.list_api_versions(name, self._type))
        except DataNotFoundError:
            return False

    def _all(self) -> list[str]:
        return list(Loader.list_available_services(self._loader, self._type))

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._all()[index]

    def __eq__(self, other: object) -> bool:
        return self._all() == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like the list it stands for


class ServiceLoader(Loader):
    """botocore's :class:`~botocore.loaders.Loader`, minus the walk of every service
    directory when one service is asked for (see the module's docstring)."""

    def list_available_services(self, type_name: str) -> Any:  # botocore: list[str]
        return _ServiceNames(self, type_name)


def _session() -> boto3.Session:
    """boto3's default session, made with a :class:`ServiceLoader` unless something set one
    up before us (then it is used as it is: slower to make clients, as correct)."""
    if boto3.DEFAULT_SESSION is None:
        core = botocore.session.get_session()
        data_path = core.get_config_variable("data_path")  # AWS_DATA_PATH, as botocore reads it
        extra = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)] if data_path else []
        core.register_component("data_loader", ServiceLoader(extra_search_paths=extra))
        boto3.setup_default_session(botocore_session=core)
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION


def client(service: str, **kwargs: Any) -> Any:
    """A client of the shared session (``boto3.client`` semantics)."""
    with _lock:  # one session even when the first clients are made on several threads
        session = _session()
    return session.client(service, **kwargs)  # type: ignore[call-overload]
