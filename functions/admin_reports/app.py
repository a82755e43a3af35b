"""GET /admin/reports (JSON, or CSV with ``Accept: text/csv``) and GET /admin/search: SQL over
the transcript archive (Athena in AWS, DuckDB on the local stack; docs/reports.md)."""

from switchboard.admin import reports
from switchboard.auth import sessions
from switchboard.edge.httpapi import Request, Response, endpoint, json_response, routes
from switchboard.runtime import services


def report(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    query = request.parse_query()  # ReportsQuery: from, to, operator
    answer = reports.report(svc, caller, start=query.from_, end=query.to, operator=query.operator)
    if "text/csv" in request.headers.get("accept", ""):
        name = f"report-{query.from_}-{query.to}.csv"
        return Response(status=200, body=reports.report_csv(answer), content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return json_response(answer)


def search(request: Request) -> Response:
    svc = services()
    caller = sessions.authenticate(svc, request.authorization)
    query = request.parse_query()  # SearchQuery: q, from, to, cursor
    return json_response(reports.search(svc, caller, q=query.q, start=query.from_, end=query.to,
                                        cursor=query.cursor))


handler = endpoint(routes({
    "GET /admin/reports": report,
    "GET /admin/search": search,
}))
