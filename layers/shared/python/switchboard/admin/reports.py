"""Reports and search over the transcript archive, in SQL (docs/reports.md).

Closed conversations are archived as JSON Lines (:mod:`switchboard.chat.transcripts`), one
folder per tenant and closing day. In AWS the Glue table ``transcripts`` (template.yaml,
partition projection) lets Athena query them; on the local stack DuckDB reads the same files,
fetched from (moto's) S3. **One query text serves both**: the SQL below keeps to what Trino and
DuckDB both read alike (CTEs, window functions, ``strpos``/``lower``, ``min_by``, struct fields
by dot), and a test runs each query on DuckDB and checks Athena is sent the very same text.

**Parameters are bound, never formatted into the SQL**: the text is constant (the page size
too); values go as DuckDB's prepared-statement parameters, and as Athena's
``ExecutionParameters`` (which Athena reads as SQL literals: strings are sent quoted with their
quotes doubled, after the request model has checked each value's form - dates, ids - and ``q``
is only ever compared as text).

Percentiles are nearest-rank (the smallest value with at least p% of the values at or below
it), computed with ``row_number()`` so both engines give the same, exact answer; approximate
percentile functions differ between the two.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Sequence
from typing import Any, Protocol

from switchboard.auth.sessions import Caller
from switchboard.errors import Unavailable, ValidationFailed
from switchboard.runtime import Services

__all__ = ["COLUMNS", "FIGURES_SQL", "PAGE", "SEARCH_SQL", "AthenaEngine", "DuckDbEngine", "Engine", "engine_for",
           "report", "report_csv", "search"]

#: the table's columns (Hive types, as the Glue table declares them: a test holds the two equal)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("report", "struct<channel_id:string,type:string,visitor:string,assignee:string,created_at:bigint,"
               "assigned_at:bigint,first_response_at:bigint,closed_at:bigint,csat:int,outside_hours:boolean,"
               "messages:int>"),
    ("message", "struct<id:string,channel_id:string,text:string,created_at:bigint,deleted:boolean,"
                "sender:struct<id:string,role:string,name:string>>"),
)
PARTITIONS = ("tenant", "closed_on")
#: search results per page (SEARCH_SQL asks for one more, to know whether a next page exists:
#: its LIMIT is written out, as the text is constant; a test holds the two in step)
PAGE = 20
MAX_DAYS = 366

# one row per (kind, key): kind 'day' (key: the closing day), 'operator' (key: the assignee, ''
# for none) and 'total'; times in ms. Parameters: tenant, from, to, operator, operator
FIGURES_SQL = """
WITH conv AS (
  SELECT closed_on AS day, report.assignee AS assignee,
         report.first_response_at - report.created_at AS fr,
         report.closed_at - report.created_at AS res,
         report.assigned_at - report.created_at AS qw,
         report.csat AS csat, report.outside_hours AS outside
  FROM transcripts
  WHERE tenant = ? AND closed_on BETWEEN ? AND ?
    AND report.channel_id IS NOT NULL AND report.type = 'support'
    AND (? = '' OR report.assignee = ?)
),
facts AS (
  SELECT 'day' AS kind, day AS k, fr, res, qw, csat, outside FROM conv
  UNION ALL SELECT 'operator' AS kind, coalesce(assignee, '') AS k, fr, res, qw, csat, outside FROM conv
  UNION ALL SELECT 'total' AS kind, '' AS k, fr, res, qw, csat, outside FROM conv
),
ranked AS (
  SELECT kind, k, fr, res, qw, csat, outside,
         row_number() OVER (PARTITION BY kind, k ORDER BY fr ASC NULLS LAST) AS fr_rn,
         count(fr) OVER (PARTITION BY kind, k) AS fr_n,
         row_number() OVER (PARTITION BY kind, k ORDER BY res ASC NULLS LAST) AS res_rn,
         count(res) OVER (PARTITION BY kind, k) AS res_n,
         row_number() OVER (PARTITION BY kind, k ORDER BY qw ASC NULLS LAST) AS qw_rn,
         count(qw) OVER (PARTITION BY kind, k) AS qw_n
  FROM facts
)
SELECT kind, k, count(*) AS conversations,
       min(CASE WHEN fr IS NOT NULL AND fr_rn * 100 >= fr_n * 50 THEN fr END) AS first_response_p50,
       min(CASE WHEN fr IS NOT NULL AND fr_rn * 100 >= fr_n * 90 THEN fr END) AS first_response_p90,
       min(CASE WHEN res IS NOT NULL AND res_rn * 100 >= res_n * 50 THEN res END) AS resolution_p50,
       min(CASE WHEN res IS NOT NULL AND res_rn * 100 >= res_n * 90 THEN res END) AS resolution_p90,
       min(CASE WHEN qw IS NOT NULL AND qw_rn * 100 >= qw_n * 50 THEN qw END) AS queue_wait_p50,
       min(CASE WHEN qw IS NOT NULL AND qw_rn * 100 >= qw_n * 90 THEN qw END) AS queue_wait_p90,
       avg(csat) AS csat_avg, count(csat) AS csat_count,
       sum(CASE WHEN outside THEN 1 ELSE 0 END) AS outside_hours, count(outside) AS hours_known
FROM ranked
GROUP BY kind, k
ORDER BY kind, k
""".strip()

# closed support conversations with a message containing q (case-insensitive), newest first,
# one page after the cursor. Parameters: tenant, from, to, q, tenant, from, to, cursor, cursor
SEARCH_SQL = """
WITH hits AS (
  SELECT message.channel_id AS channel_id, count(*) AS matches,
         min_by(message.text, message.created_at) AS first_match
  FROM transcripts
  WHERE tenant = ? AND closed_on BETWEEN ? AND ?
    AND message.id IS NOT NULL AND NOT coalesce(message.deleted, false)
    AND strpos(lower(message.text), lower(?)) > 0
  GROUP BY message.channel_id
),
conv AS (
  SELECT report.channel_id AS channel_id, closed_on, report.visitor AS visitor, report.assignee AS assignee,
         report.created_at AS created_at, report.closed_at AS closed_at
  FROM transcripts
  WHERE tenant = ? AND closed_on BETWEEN ? AND ?
    AND report.channel_id IS NOT NULL AND report.type = 'support'
)
SELECT conv.channel_id AS channel_id, conv.closed_on AS closed_on, conv.visitor AS visitor,
       conv.assignee AS assignee, conv.created_at AS created_at, conv.closed_at AS closed_at,
       hits.matches AS matches, hits.first_match AS first_match
FROM hits JOIN conv ON hits.channel_id = conv.channel_id
WHERE (? = '' OR conv.channel_id < ?)
ORDER BY conv.channel_id DESC
LIMIT 21
""".strip()


class Engine(Protocol):
    """Runs one of the queries above for one tenant's days; rows as dicts by column name."""

    def run(self, sql: str, params: Sequence[str], *, tenant: str, days: tuple[str, str]) -> list[dict[str, Any]]: ...


# -- the engines ---------------------------------------------------------------------------------------
def duckdb_type(hive: str) -> str:
    """A Hive column type as DuckDB spells it (``struct<a:string>`` -> ``STRUCT("a" VARCHAR)``)."""
    hive = hive.strip()
    scalars = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "boolean": "BOOLEAN", "double": "DOUBLE"}
    if hive in scalars:
        return scalars[hive]
    if not hive.startswith("struct<") or not hive.endswith(">"):
        raise ValueError(f"no DuckDB type for {hive!r}")
    fields, depth, start, inner = [], 0, 0, hive[len("struct<"):-1]
    for i, c in enumerate(inner + ","):
        depth += (c == "<") - (c == ">")
        if c == "," and depth == 0:
            name, _, kind = inner[start:i].partition(":")
            fields.append(f'"{name}" {duckdb_type(kind)}')
            start = i + 1
    return "STRUCT(" + ", ".join(fields) + ")"


class DuckDbEngine:
    """DuckDB (embedded, in the function's process) over the tenant's archive files for the days
    asked, fetched from S3 with the function's own S3 client into a temporary folder laid out as
    in the bucket (``tenant=/closed_on=`` folders: DuckDB's hive partitioning gives the two
    columns the Glue table's partitions give Athena). For the local stack and the tests: it
    reads every file of the range on every query."""

    def __init__(self, bucket: str, s3: Any = None) -> None:
        self._bucket = bucket
        self._s3 = s3

    def run(self, sql: str, params: Sequence[str], *, tenant: str, days: tuple[str, str]) -> list[dict[str, Any]]:
        import tempfile

        import duckdb

        s3 = self._s3
        if s3 is None:
            from switchboard import aws

            s3 = aws.client("s3")
        with tempfile.TemporaryDirectory(prefix="sb-reports-") as folder:
            found = False
            if self._bucket:
                pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket,
                                                                     Prefix=f"transcripts/tenant={tenant}/")
                by_day: dict[str, list[str]] = {}
                for page in pages:
                    for obj in page.get("Contents", []):
                        key = obj["Key"]
                        day = key.split("/closed_on=", 1)[-1].split("/", 1)[0]
                        if days[0] <= day <= days[1] and key.endswith(".jsonl"):
                            by_day.setdefault(day, []).append(key)
                # one file per day, in the bucket's folders (the partitions): the lines are what
                # counts, not which object held them, and DuckDB opens a few files faster than many
                for day, day_keys in by_day.items():
                    where = f"{folder}/transcripts/tenant={tenant}/closed_on={day}"
                    os.makedirs(where, exist_ok=True)
                    with open(f"{where}/day.jsonl", "wb") as out:
                        for key in day_keys:
                            body = s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
                            out.write(body if body.endswith(b"\n") else body + b"\n")
                    found = True
            con = duckdb.connect(":memory:")
            try:
                columns = "{" + ", ".join(f"'{n}': '{duckdb_type(t)}'" for n, t in COLUMNS) + "}"
                if found:
                    con.execute(
                        f"CREATE VIEW transcripts AS SELECT * FROM read_json('{folder}/transcripts/**/*.jsonl', "  # noqa: S608
                        f"format = 'newline_delimited', columns = {columns}, hive_partitioning = true, "
                        "ignore_errors = true, "  # a damaged line is skipped, as the Glue table's SerDe does
                        "hive_types = {'tenant': 'VARCHAR', 'closed_on': 'VARCHAR'})")
                else:  # nothing archived in the range: the same table, empty
                    con.execute("CREATE TABLE transcripts (" + ", ".join(
                        [f'"{n}" {duckdb_type(t)}' for n, t in COLUMNS] + ['tenant VARCHAR', 'closed_on VARCHAR'])
                        + ")")
                cursor = con.execute(sql, list(params))
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            finally:
                con.close()


class AthenaEngine:
    """Athena, in the stack's workgroup (its results bucket and its scan limit), over the Glue
    table ``transcripts``: start, wait (the HTTP API answers within 29 s: a query not done by
    ``timeout`` is stopped and answered 503), read the results."""

    def __init__(self, workgroup: str, database: str, client: Any = None, timeout: float = 25.0) -> None:
        self._workgroup, self._database, self._client, self._timeout = workgroup, database, client, timeout

    def client(self) -> Any:
        if self._client is None:
            from switchboard import aws

            self._client = aws.client("athena")
        return self._client

    def run(self, sql: str, params: Sequence[str], *, tenant: str, days: tuple[str, str]) -> list[dict[str, Any]]:
        athena = self.client()
        started = athena.start_query_execution(
            QueryString=sql, WorkGroup=self._workgroup, QueryExecutionContext={"Database": self._database},
            ExecutionParameters=[sql_literal(p) for p in params])
        qid = started["QueryExecutionId"]
        deadline, pause = time.monotonic() + self._timeout, 0.1
        while True:
            status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
            if status["State"] == "SUCCEEDED":
                break
            if status["State"] in ("FAILED", "CANCELLED"):
                raise Unavailable("the report could not be computed")
            if time.monotonic() > deadline:
                athena.stop_query_execution(QueryExecutionId=qid)
                raise Unavailable("the report took too long: try a shorter range")
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
        rows: list[dict[str, Any]] = []
        names: list[str] = []
        types: list[str] = []
        for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
            if not names:
                info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
                names, types = [c["Name"] for c in info], [c["Type"] for c in info]
                body = page["ResultSet"]["Rows"][1:]  # the first row repeats the column names
            else:
                body = page["ResultSet"]["Rows"]
            for row in body:
                values = [cell.get("VarCharValue") for cell in row["Data"]]
                rows.append({n: _typed(v, t) for n, v, t in zip(names, values, types, strict=True)})
        return rows


def sql_literal(value: str) -> str:
    """A string as the SQL literal Athena's ``ExecutionParameters`` expect: quoted, quotes
    doubled (so ``q`` = ``x' OR '1'='1`` stays one string)."""
    return "'" + value.replace("'", "''") + "'"


def _typed(value: str | None, kind: str) -> Any:
    if value is None:
        return None
    if kind in ("bigint", "integer", "int", "smallint", "tinyint"):
        return int(value)
    if kind in ("double", "float", "real", "decimal"):
        return float(value)
    if kind == "boolean":
        return value == "true"
    return value


def engine_for(svc: Services) -> Engine:
    """Athena in AWS (the function's environment names its workgroup), DuckDB elsewhere."""
    s = svc.settings
    if s.reports_engine == "athena":
        return AthenaEngine(s.athena_workgroup, s.reports_database)
    return DuckDbEngine(s.archive_bucket)


# -- the answers ---------------------------------------------------------------------------------------
def _days(start: str, end: str) -> tuple[str, str]:
    from datetime import date

    try:
        a, b = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        raise ValidationFailed("from and to must be days (YYYY-MM-DD)") from exc
    if b < a:
        raise ValidationFailed("to is before from")
    if (b - a).days >= MAX_DAYS:
        raise ValidationFailed(f"at most {MAX_DAYS} days at once")
    return start, end


def _seconds(ms: Any) -> float | None:
    return None if ms is None else round(ms / 1000, 3)


_FIGURES = ("first_response_p50", "first_response_p90", "resolution_p50", "resolution_p90", "queue_wait_p50",
            "queue_wait_p90")


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"conversations": int(row["conversations"])}
    out |= {f: _seconds(row[f]) for f in _FIGURES}
    out["csat_avg"] = None if row["csat_avg"] is None else round(float(row["csat_avg"]), 2)
    out["csat_count"] = int(row["csat_count"] or 0)
    # no business hours set for any of them: null, not 0 (nothing could be outside them)
    out["outside_hours"] = int(row["outside_hours"] or 0) if row["hours_known"] else None
    return out


def report(svc: Services, caller: Caller, *, start: str, end: str, operator: str | None = None,
           engine: Engine | None = None) -> dict[str, Any]:
    """``GET /admin/reports``: ``{"days", "operators", "totals"}`` for the tenant's support
    conversations closed between ``start`` and ``end`` (UTC days, both included), optionally
    only those assigned to ``operator``. Times in seconds."""
    caller.require("admin:tenant")
    days = _days(start, end)
    rows = (engine or engine_for(svc)).run(FIGURES_SQL, [caller.tenant, *days, operator or "", operator or ""],
                                           tenant=caller.tenant, days=days)
    empty = {"conversations": 0, **dict.fromkeys(_FIGURES), "csat_avg": None, "csat_count": 0,
             "outside_hours": None}
    totals = next((_figures(r) for r in rows if r["kind"] == "total"), empty)
    return {
        "from": start, "to": end, "operator": operator,
        "days": [{"day": r["k"], **_figures(r)} for r in rows if r["kind"] == "day"],
        "operators": [{"operator": r["k"] or None, **_figures(r)} for r in rows if r["kind"] == "operator"],
        "totals": totals,
    }


def report_csv(answer: dict[str, Any]) -> str:
    """The report as CSV (``Accept: text/csv``): one row per day, then one per operator, then the
    totals; the first column says which."""
    out = io.StringIO()
    fields = ["conversations", *_FIGURES, "csat_avg", "csat_count", "outside_hours"]
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row", "key", *fields])

    def cell(v: Any) -> Any:
        text = "" if v is None else str(v)
        # a spreadsheet would run a cell starting with = + - @ as a formula (ids are chat-safe,
        # but say so here rather than rely on it)
        return "'" + text if text[:1] in ("=", "+", "-", "@") and not text.lstrip("-").replace(".", "").isdigit() \
            else text

    for d in answer["days"]:
        writer.writerow(["day", d["day"], *(cell(d[f]) for f in fields)])
    for o in answer["operators"]:
        writer.writerow(["operator", cell(o["operator"]), *(cell(o[f]) for f in fields)])
    writer.writerow(["total", "", *(cell(answer["totals"][f]) for f in fields)])
    return out.getvalue()


def search(svc: Services, caller: Caller, *, q: str, start: str, end: str, cursor: str | None = None,
           engine: Engine | None = None) -> dict[str, Any]:
    """``GET /admin/search``: the tenant's closed support conversations with a message that
    contains ``q`` (case-insensitive), newest first, ``PAGE`` at a time; ``next`` is the cursor
    of the following page (``null``: the last)."""
    caller.require("admin:tenant")
    days = _days(start, end)
    if cursor is not None and not cursor.replace("-", "").replace("_", "").isalnum():
        raise ValidationFailed("cursor is not valid")
    rows = (engine or engine_for(svc)).run(
        SEARCH_SQL, [caller.tenant, *days, q, caller.tenant, *days, cursor or "", cursor or ""],
        tenant=caller.tenant, days=days)
    page = rows[:PAGE]
    return {
        "items": [{"channel_id": r["channel_id"], "closed_on": r["closed_on"], "visitor": r["visitor"],
                   "assignee": r["assignee"], "created_at": r["created_at"], "closed_at": r["closed_at"],
                   "matches": int(r["matches"]), "snippet": (r["first_match"] or "")[:300]} for r in page],
        "next": page[-1]["channel_id"] if len(rows) > PAGE else None,
    }
