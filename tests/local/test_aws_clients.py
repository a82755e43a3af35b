"""switchboard.aws: every client from one boto3 session whose botocore loader does not walk
every service directory to make one client (a cold-start cost: see the module)."""

from __future__ import annotations

import os

import boto3
import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader
from switchboard import aws


@pytest.fixture
def no_default_session(monkeypatch):
    """As in a fresh Lambda container: no boto3 default session yet."""
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


def count_listdir(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = os.listdir

    def counting(path=".", *args, **kwargs):
        seen.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "listdir", counting)
    return seen


def test_the_loader_knows_a_service_by_looking_for_it_alone():
    loader, stock = aws.ServiceLoader(), Loader()
    names = loader.list_available_services("service-2")
    assert "dynamodb" in names and "secretsmanager" in names and "apigatewaymanagementapi" in names
    assert "no-such-service" not in names and 42 not in names
    # and asked for the whole list, it answers what botocore's own loader does
    assert sorted(names) == sorted(stock.list_available_services("service-2"))
    assert len(names) == len(stock.list_available_services("service-2")) > 300


def test_making_the_first_client_no_longer_walks_every_service(no_default_session, monkeypatch):
    # Given botocore's own loader: making a DynamoDB client lists hundreds of directories
    seen = count_listdir(monkeypatch)
    botocore.session.get_session().create_client("dynamodb", region_name="eu-west-1")
    stock_walk = len(seen)
    assert stock_walk > 300
    # When the layer makes the same client
    seen.clear()
    client = aws.client("dynamodb")
    # Then a handful of directories is read, and the client is the real one
    assert len(seen) < 20, seen
    assert client.meta.service_model.service_name == "dynamodb"
    assert boto3.DEFAULT_SESSION is not None
    assert isinstance(boto3.DEFAULT_SESSION._session.get_component("data_loader"), aws.ServiceLoader)


def test_every_client_comes_from_the_one_session(no_default_session):
    aws.client("dynamodb")
    session = boto3.DEFAULT_SESSION
    for service in ("secretsmanager", "s3", "apigatewaymanagementapi"):
        assert aws.client(service).meta.service_model.service_name == service
        assert boto3.DEFAULT_SESSION is session


def test_an_unknown_service_is_refused_as_boto3_refuses_it(no_default_session):
    with pytest.raises(UnknownServiceError):
        aws.client("no-such-service")


def test_a_session_set_up_before_the_layer_is_used_as_it_is(no_default_session):
    boto3.setup_default_session(region_name="eu-west-1")
    mine = boto3.DEFAULT_SESSION
    aws.client("dynamodb")
    assert boto3.DEFAULT_SESSION is mine


def test_clients_made_at_once_on_several_threads_share_one_session(no_default_session, monkeypatch):
    # Given a session that takes a while to set up, and four threads making their first client
    import threading
    import time

    made: list[object] = []
    real = botocore.session.get_session

    def slow_session():
        time.sleep(0.05)
        made.append(object())
        return real()

    monkeypatch.setattr(botocore.session, "get_session", slow_session)
    barrier = threading.Barrier(4)

    def first_client() -> None:
        barrier.wait()
        aws.client("dynamodb")

    threads = [threading.Thread(target=first_client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then one session was set up, with the loader
    assert len(made) == 1
    assert isinstance(boto3.DEFAULT_SESSION._session.get_component("data_loader"), aws.ServiceLoader)


def test_the_service_list_still_behaves_as_a_list_when_asked_for_whole():
    names = aws.ServiceLoader().list_available_services("service-2")
    stock = Loader().list_available_services("service-2")
    assert names == stock and names[0] == stock[0] and names[-2:] == stock[-2:]
    assert next(reversed(names)) == stock[-1]
