"""GET /admin/reports and GET /admin/search (contract section 9): SQL over the transcript archive.

The same query text runs on DuckDB here (over the archive read from moto's S3) and is what Athena
is sent in AWS; the figures match a plain-Python reference on a generated archive of a few
thousand conversations; values are bound, never formatted into the SQL."""

from __future__ import annotations

import csv
import io

import boto3
import pytest

from tests.conftest import OPERATOR, TENANT
from tests.reports_support import OPERATORS, generate, reference

FROM, TO = "2026-03-01", "2026-03-31"


def _archive(svc, count):
    """``count`` closed conversations of acme, 30 of globex and 20 team channels of acme."""
    s3 = boto3.client("s3")
    rows = generate(s3, svc.settings.archive_bucket, TENANT, count)
    generate(s3, svc.settings.archive_bucket, "globex", 30, seed=99, first=50_000)
    generate(s3, svc.settings.archive_bucket, TENANT, 20, seed=5, kind="team", first=90_000)
    return rows


@pytest.fixture
def archive(svc, seeded):
    return _archive(svc, 300)


@pytest.fixture
def big_archive(svc, seeded):
    """A few thousand conversations: the issue's proof that the SQL adds up as Python does."""
    return _archive(svc, 2000)


def get_report(call, admin, **query):
    r = call("GET /admin/reports", token=admin, query={"from": FROM, "to": TO, **query})
    assert r["status"] == 200, r
    return r["json"]


def test_the_figures_match_a_plain_python_reference(call, admin, big_archive):
    got = get_report(call, admin)
    want = reference(big_archive, FROM, TO)
    assert got["totals"] == want["totals"]
    assert got["days"] == want["days"]
    assert got["operators"] == want["operators"]
    assert got["totals"]["conversations"] == 2000 and len(got["days"]) >= 10
    assert set(got["totals"]) >= {"conversations", "first_response_p50", "first_response_p90", "resolution_p50",
                                  "resolution_p90", "queue_wait_p50", "csat_avg", "csat_count", "outside_hours"}
    assert got["totals"]["csat_avg"] is None and got["totals"]["csat_count"] == 0  # no CSAT yet
    assert 0 < got["totals"]["outside_hours"] < 2000


def test_the_reference_holds_on_a_smaller_archive_too(call, admin, archive):
    assert get_report(call, admin)["totals"]["conversations"] == 300


def test_the_date_range_and_operator_filters(call, admin, archive):
    one = OPERATORS[1]
    got = get_report(call, admin, operator=one, **{"from": "2026-03-03", "to": "2026-03-05"})
    want = reference(archive, "2026-03-03", "2026-03-05", one)
    assert got["totals"] == want["totals"] and got["days"] == want["days"]
    assert [o["operator"] for o in got["operators"]] == [one]
    assert {d["day"] for d in got["days"]} <= {"2026-03-03", "2026-03-04", "2026-03-05"}


def test_an_empty_range_and_no_hours_answer_zero_and_null(call, admin, archive):
    got = get_report(call, admin, **{"from": "2025-01-01", "to": "2025-01-31"})
    assert got["days"] == [] and got["operators"] == []
    assert got["totals"]["conversations"] == 0 and got["totals"]["first_response_p50"] is None
    assert got["totals"]["outside_hours"] is None


def test_another_tenants_conversations_never_count(call, tokens_for, archive):
    from tests.conftest import SEED

    gus = next(o for o in SEED["tenants"][1]["operators"])
    token = tokens_for(gus, tenant="globex")["access_token"]
    got = call("GET /admin/reports", token=token, query={"from": FROM, "to": TO})["json"]
    assert got["totals"]["conversations"] == 30


def test_csv_with_accept_text_csv(call, admin, archive):
    r = call("GET /admin/reports", token=admin, query={"from": FROM, "to": TO}, headers={"accept": "text/csv"})
    assert r["status"] == 200 and r["headers"]["Content-Type"].startswith("text/csv")
    assert "attachment" in r["headers"]["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r["text"])))
    want = reference(archive, FROM, TO)
    total = next(row for row in rows if row["row"] == "total")
    assert int(total["conversations"]) == 300
    assert float(total["first_response_p90"]) == want["totals"]["first_response_p90"]
    assert [row["key"] for row in rows if row["row"] == "day"] == [d["day"] for d in want["days"]]


@pytest.mark.parametrize("query", [{"from": "2026-03-01"}, {"from": "2026-3-1", "to": "2026-03-02"},
                                   {"from": "2026-03-02", "to": "2026-03-01"},
                                   {"from": "2025-01-01", "to": "2026-03-01"},
                                   {"from": FROM, "to": TO, "operator": "x' OR '1'='1"},
                                   {"from": FROM, "to": TO, "extra": "1"}])
def test_a_bad_query_is_a_400(call, admin, query):
    r = call("GET /admin/reports", token=admin, query=query)
    assert r["status"] == 400 and r["json"]["code"] == "validation_error"


def test_staff_without_admin_tenant_are_forbidden(call, tokens_for):
    otto = tokens_for(OPERATOR)["access_token"]
    for route, query in (("GET /admin/reports", {"from": FROM, "to": TO}),
                         ("GET /admin/search", {"from": FROM, "to": TO, "q": "refund"})):
        r = call(route, token=otto, query=query)
        assert r["status"] == 403 and r["json"]["code"] == "forbidden"


# -- search ------------------------------------------------------------------------------------------------
def search(call, admin, **query):
    r = call("GET /admin/search", token=admin, query={"from": FROM, "to": TO, **query})
    assert r["status"] == 200, r
    return r["json"]


def test_search_finds_matching_conversations_newest_first_and_pages(call, admin, archive):
    want = sorted({r["report"]["channel_id"] for r in archive
                   if any("invoice" in m["text"] for m in r["messages"])}, reverse=True)
    seen, cursor = [], None
    while True:
        page = search(call, admin, q="INVOICE", **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 20
        seen += [i["channel_id"] for i in page["items"]]
        assert all("invoice" in i["snippet"] for i in page["items"])
        cursor = page["next"]
        if cursor is None:
            break
        if len(seen) >= 60:  # three pages are proof enough of paging
            break
    assert seen == want[:len(seen)] and len(seen) >= 60


HOSTILE = ["x' OR '1'='1", "'; DROP TABLE transcripts; --", "%%", "re_und", "\\' OR 1=1 --",
           "refund') OR ('a'='a", "refund' UNION SELECT * FROM transcripts --"]


def test_a_hostile_q_is_text_not_sql(call, admin, archive):
    for hostile in HOSTILE:
        # it matches only messages containing it verbatim (none): no wildcard, no SQL
        assert search(call, admin, q=hostile)["items"] == [], hostile
    # and the table is still there, whole
    assert get_report(call, admin)["totals"]["conversations"] == 300


def test_a_forged_cursor_is_refused(call, admin, archive):
    r = call("GET /admin/search", token=admin, query={"from": FROM, "to": TO, "q": "refund", "cursor": "x' OR 1=1"})
    assert r["status"] == 400


# -- one query text, two engines -------------------------------------------------------------------------
def test_athena_is_sent_exactly_the_text_duckdb_runs_with_the_values_as_literals(svc, seeded):
    """The Athena path, through a real botocore Athena client whose calls are checked against
    Athena's API model by botocore's Stubber. (moto 5.2.6, the newest, answers Athena in the JSON
    protocol; botocore 1.44 speaks rest-json to it, so moto's Athena cannot be used here.)"""
    from botocore.stub import ANY, Stubber
    from switchboard.admin import reports
    from switchboard.auth import sessions

    from tests.conftest import ADMIN

    athena = boto3.client("athena")
    stub = Stubber(athena)
    columns = [{"Name": n, "Type": t} for n, t in (("kind", "varchar"), ("k", "varchar"), ("conversations", "bigint"),
               ("first_response_p50", "bigint"), ("first_response_p90", "bigint"), ("resolution_p50", "bigint"),
               ("resolution_p90", "bigint"), ("queue_wait_p50", "bigint"), ("queue_wait_p90", "bigint"),
               ("csat_avg", "double"), ("csat_count", "bigint"), ("outside_hours", "bigint"),
               ("hours_known", "bigint"))]
    values = ["total", "", "3", "1500", "9000", "60000", "120000", "0", "2000", None, "0", "1", "3"]
    header = {"Data": [{"VarCharValue": c["Name"]} for c in columns]}
    row = {"Data": [{"VarCharValue": v} if v is not None else {} for v in values]}
    # Given Athena's answers: started, running once, succeeded, the result set
    literals = [f"'{TENANT}'", f"'{FROM}'", f"'{TO}'", f"'{OPERATORS[0]}'", f"'{OPERATORS[0]}'"]
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"},
                      {"QueryString": reports.FIGURES_SQL, "WorkGroup": "reports",
                       "QueryExecutionContext": {"Database": "switchboard_reports"}, "ExecutionParameters": literals})
    stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "RUNNING"}}},
                      {"QueryExecutionId": "q-1"})
    stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}},
                      {"QueryExecutionId": "q-1"})
    stub.add_response("get_query_results", {"ResultSet": {"Rows": [header, row],
                                                          "ResultSetMetadata": {"ColumnInfo": columns}}},
                      {"QueryExecutionId": "q-1"})
    # and for the search: the hostile text must arrive as one quoted literal
    hostile = "x' OR '1'='1"
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-2"},
                      {"QueryString": reports.SEARCH_SQL, "WorkGroup": "reports",
                       "QueryExecutionContext": {"Database": "switchboard_reports"},
                       "ExecutionParameters": [f"'{TENANT}'", f"'{FROM}'", f"'{TO}'", "'x'' OR ''1''=''1'",
                                               f"'{TENANT}'", f"'{FROM}'", f"'{TO}'", "''", "''"]})
    stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}},
                      {"QueryExecutionId": ANY})
    stub.add_response("get_query_results", {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": "channel_id"}]}],
                                                          "ResultSetMetadata": {"ColumnInfo": [
                                                              {"Name": "channel_id", "Type": "varchar"}]}}},
                      {"QueryExecutionId": "q-2"})
    engine = reports.AthenaEngine("reports", "switchboard_reports", client=athena)
    token = svc_sign_in(svc, ADMIN)
    caller = sessions.authenticate(svc, f"Bearer {token}")
    with stub:
        # When a report and a search are asked for
        got = reports.report(svc, caller, start=FROM, end=TO, operator=OPERATORS[0], engine=engine)
        found = reports.search(svc, caller, q=hostile, start=FROM, end=TO, engine=engine)
        # Then Athena was sent the very texts DuckDB runs (the other tests), nothing more
        stub.assert_no_pending_responses()
    # And its answer was read back typed
    assert got["totals"]["conversations"] == 3 and got["totals"]["first_response_p50"] == 1.5
    assert got["totals"]["outside_hours"] == 1 and got["totals"]["csat_avg"] is None
    assert found == {"items": [], "next": None}


def svc_sign_in(svc, who):
    from switchboard.auth import logins

    return logins.internal(svc, tenant_id=TENANT, email=who["email"], password=who["password"],
                           device=None).access_token


def test_the_page_size_matches_the_searchs_limit():
    from switchboard.admin import reports

    assert f"LIMIT {reports.PAGE + 1}" in reports.SEARCH_SQL


def test_the_glue_table_declares_the_columns_duckdb_reads(template):
    from switchboard.admin import reports

    table = template.resources["TranscriptsTable"]["Properties"]["TableInput"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == list(reports.COLUMNS)
    assert [p["Name"] for p in table["PartitionKeys"]] == list(reports.PARTITIONS)
    assert table["Parameters"]["projection.enabled"] == "true"


def test_aws_runs_the_reports_on_athena_and_the_local_stack_on_duckdb(template):
    from switchboard.admin import reports
    from switchboard.runtime import Services
    from switchboard.settings import Settings

    env = template.resources["AdminReportsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["REPORTS_ENGINE"] == "athena"
    aws = Services.build(Settings.from_env({"REPORTS_ENGINE": "athena", "ATHENA_WORKGROUP": "wg",
                                            "REPORTS_DATABASE": "db"}), store=object())  # type: ignore[arg-type]
    assert isinstance(reports.engine_for(aws), reports.AthenaEngine)
    local = Services.build(Settings.from_env({}), store=object())  # type: ignore[arg-type]
    assert isinstance(reports.engine_for(local), reports.DuckDbEngine)


def test_the_sql_itself_keeps_tenants_apart(tmp_path):
    """Athena reads the whole table: the tenant filter in the SQL is what keeps tenants apart there
    (DuckDB's engine also fetches only the tenant's folder). Both tenants' files in one table here."""
    import random

    import duckdb
    from switchboard.admin import reports
    from switchboard.chat.transcripts import transcript_key

    from tests.reports_support import conversation, lines_of

    rng = random.Random(3)
    for tenant, count, first in (("acme", 40, 0), ("globex", 25, 1000)):
        for n in range(first, first + count):
            ch, messages = conversation(rng, tenant, n, words=("secret-word",))
            path = tmp_path / transcript_key(ch)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(lines_of(ch, messages, None))
    con = duckdb.connect()
    columns = "{" + ", ".join(f"'{n}': '{reports.duckdb_type(t)}'" for n, t in reports.COLUMNS) + "}"
    con.execute(f"CREATE VIEW transcripts AS SELECT * FROM read_json('{tmp_path}/transcripts/**/*.jsonl', "  # noqa: S608
                f"format = 'newline_delimited', columns = {columns}, hive_partitioning = true, "
                "hive_types = {'tenant': 'VARCHAR', 'closed_on': 'VARCHAR'})")
    cur = con.execute(reports.FIGURES_SQL, ["globex", FROM, TO, "", ""])
    names = [d[0] for d in cur.description]
    total = next(dict(zip(names, r, strict=True)) for r in cur.fetchall() if r[0] == "total")
    assert total["conversations"] == 25
    cur = con.execute(reports.SEARCH_SQL, ["acme", FROM, TO, "secret-word", "acme", FROM, TO, "", ""])
    assert {r[0] for r in cur.fetchall()} <= {f"ch-{n:06d}" for n in range(40)}


def test_a_damaged_line_in_the_archive_is_skipped_not_a_500(call, admin, svc, seeded):
    # Given one good conversation and one object whose line is not JSON, on the same day
    s3 = boto3.client("s3")
    (good,) = generate(s3, svc.settings.archive_bucket, TENANT, 1, seed=1)
    day = good["closed_on"]
    s3.put_object(Bucket=svc.settings.archive_bucket, Key=f"transcripts/tenant={TENANT}/closed_on={day}/bad.jsonl",
                  Body=b'{"report": {"channel_id": "x", \n')
    # Then the report counts the good one (as Athena's SerDe skips what it cannot read)
    got = get_report(call, admin, **{"from": day, "to": day})
    assert got["totals"]["conversations"] == 1
