"""The emulated Desk endpoints under /platform/v1: token check, faults, routing, JSON answers."""

import json
import re
from dataclasses import dataclass, field

from otel_desk_receiver.devkit.emulator.desk import DeskState, FaqBotError, UnknownBotError
from otel_desk_receiver.devkit.emulator.faults import Fault
from otel_desk_receiver.devkit.emulator.query import Page, QueryError, envelope, parse_log_query, parse_page

BASE_PATH = "/platform/v1"
TOKEN_HEADER = "SENDBIRDDESKAPITOKEN"  # docs/desk-api.md#access: one header, no bearer scheme
_BOT = re.compile(r"^/bots/(?P<bot>[^/]+)(?P<logs>/webhook_logs)?$")
# A body cut mid-way: a 200 whose JSON does not parse (docs/delivery.md#reading-desk: an unusable answer).
MALFORMED_BODY = b'{"count": 3, "next": null, "previous": null, "results": [{"id": 1, "sta'


@dataclass
class Response:
    """What the handler writes; ``drop`` closes the connection without answering."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False


def json_response(status: int, payload, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), list(headers or []))


def not_found() -> Response:
    return json_response(404, {"detail": "Not found."})


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # without BASE_PATH, trailing slash removed
    full_path: str  # as requested, for next/previous links
    params: list[tuple[str, str]]
    token: str | None
    origin: str  # scheme://host[:port] for absolute links


def check_token(request: ApiRequest, token: str) -> Response | None:
    """401 with a DRF-style detail; docs/desk-api.md#access (401/403 with detail or message)."""
    if not request.token:
        return json_response(401, {"detail": "Authentication credentials were not provided."})
    if request.token != token:
        return json_response(401, {"detail": "Invalid token."})
    return None


def fault_response(fault: Fault) -> Response | None:
    if fault.kind == "repeat":
        return None  # answered by route(), shifted
    if fault.kind == "drop":
        return Response(0, drop=True)
    if fault.kind == "malformed":
        return Response(200, MALFORMED_BODY if fault.body is None else fault.body)
    if fault.kind == "status":
        if fault.body is not None:
            return Response(fault.status, fault.body, list(fault.headers))
        detail = "Request was throttled." if fault.status == 429 else "Service temporarily unavailable."
        return json_response(fault.status, {"detail": detail}, list(fault.headers))
    return None  # latency only


def route(state: DeskState, request: ApiRequest, repeat_rows: int = 0) -> Response:
    """Answer one authenticated request (``repeat_rows``: a page served that many rows early)."""
    if request.method != "GET":
        return json_response(405, {"detail": f'Method "{request.method}" not allowed.'})
    try:
        if request.path == "/bots":
            page = parse_page(request.params)
            count, bots = state.list_bots(page.offset, page.limit)
            return json_response(200, _envelope(count, bots, page, request))
        match = _BOT.match(request.path)
        if not match or not match["bot"].isdigit():
            return not_found()
        bot_id = int(match["bot"])
        if not match["logs"]:
            return json_response(200, state.get_bot(bot_id))
        return _webhook_logs(state, bot_id, request, repeat_rows)
    except UnknownBotError:
        return not_found()
    except QueryError as error:
        return json_response(400, {"code": "desk400100", "message": str(error)})
    except FaqBotError as error:
        return json_response(400, {"code": "desk400105", "message": str(error)})


def _webhook_logs(state: DeskState, bot_id: int, request: ApiRequest, repeat_rows: int = 0) -> Response:
    query = parse_log_query(request.params)
    page = query.page
    if state.config.max_page_rows is not None:  # a Desk (or proxy) that caps limit: short pages, next set
        page = Page(limit=min(page.limit, state.config.max_page_rows), offset=page.offset)
    count, entries = state.webhook_logs(bot_id, max(0, page.offset - repeat_rows), page.limit, query.order,
                                        query.start, query.end, query.statuses)
    return json_response(200, _envelope(count, entries, page, request))


def _envelope(count, results, page, request: ApiRequest) -> dict:
    return envelope(count, results, page, request.origin, request.full_path, request.params)
