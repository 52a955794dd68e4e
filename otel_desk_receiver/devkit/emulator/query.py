"""Query parameters and the paginated envelope of Desk list endpoints 
(docs/desk-api.md#lists-and-pagination)."""

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
ORDERS = ("created_at", "-created_at", "id", "-id")


class QueryError(ValueError):
    """A query parameter Desk would reject with 400; the message names the parameter."""


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


@dataclass(frozen=True)
class LogQuery:
    page: Page
    order: str
    start: date | None
    end: date | None
    statuses: list[str]


def first(params: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in params if key == name), None)


def parse_page(params: list[tuple[str, str]]) -> Page:
    """limit clamps to 1..500 (default 50) and a negative offset to 0; what Desk does out of
    range is unknown (docs/desk-api.md#lists-and-pagination), so clamping is this emulator's
    lenient choice. A value that is not an integer is a 400."""
    return Page(
        limit=min(MAX_LIMIT, max(1, _integer(params, "limit", DEFAULT_LIMIT))),
        offset=max(0, _integer(params, "offset", 0)),
    )


def parse_log_query(params: list[tuple[str, str]]) -> LogQuery:
    order = first(params, "order") or "-created_at"
    if order not in ORDERS:
        raise QueryError(f"order must be one of {', '.join(ORDERS)} (got {order!r})")
    return LogQuery(
        page=parse_page(params),
        order=order,
        start=_date(params, "start_date"),
        end=_date(params, "end_date"),
        statuses=[value for key, value in params if key == "status" and value],
    )


def _integer(params: list[tuple[str, str]], name: str, default: int) -> int:
    raw = first(params, name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"{name} must be an integer (got {raw!r})") from None


def _date(params: list[tuple[str, str]], name: str) -> date | None:
    raw = first(params, name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else _bad_date(name, raw)
    except ValueError:
        return _bad_date(name, raw)


def _bad_date(name: str, raw: str):
    raise QueryError(f"{name} must be a date as YYYY-MM-DD (got {raw!r})")


def envelope(count: int, results: list, page: Page, origin: str, path: str,
             params: list[tuple[str, str]]) -> dict:
    """DRF-style envelope; next/previous keep every parameter, repeated ones too, in order, and
    change only ``offset`` (removed from ``previous`` when it reaches 0, as DRF does)."""
    next_offset = page.offset + page.limit
    return {
        "count": count,
        "next": _link(origin, path, params, next_offset) if next_offset < count else None,
        "previous": (_link(origin, path, params, page.offset - page.limit) if page.offset > 0 else None),
        "results": results,
    }


def _link(origin: str, path: str, params: list[tuple[str, str]], offset: int) -> str:
    kept, placed = [], False
    for key, value in params:
        if key != "offset":
            kept.append((key, value))
        elif not placed:
            placed = True
            if offset > 0:
                kept.append(("offset", str(offset)))
    if not placed and offset > 0:
        kept.append(("offset", str(offset)))
    query = urlencode(kept)
    return f"{origin}{path}" + (f"?{query}" if query else "")
