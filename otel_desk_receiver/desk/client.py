"""DeskClient: the receiver's only door to the Desk API (bots and webhook log pages); knows nothing of OTel."""

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import requests

from otel_desk_receiver.desk.limits import MAX_PAGE_SIZE
from otel_desk_receiver.desk.models import Bot, MalformedEntryError, parse_bot
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.desk.transport import Params, RequestInfo, RetryInfo, Transport

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["DeskClient", "Page", "RequestInfo", "RetryInfo", "ORDERS"]

logger = logging.getLogger(__name__)

BOTS_PAGE_SIZE = 100
ORDERS = ("created_at", "-created_at", "id", "-id")  # docs/desk-api.md#webhook-logs
BOTS = "/bots"
BOT = "/bots/{bot_id}"
WEBHOOK_LOGS = "/bots/{bot_id}/webhook_logs"


@dataclass(frozen=True)
class Page:
    """One page of a Desk list: raw result items, unparsed, and whether another page follows."""

    offset: int
    limit: int
    results: list[Any]
    count: int | None  # the envelope's count when it is an integer
    has_next: bool  # more follows: `next` is not null, the page had rows, and `count` is not reached

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.results)

    @property
    def short(self) -> bool:
        """Fewer rows than asked for. Not the end of the listing by itself: a Desk (or a proxy) that caps
        ``limit`` answers short pages with ``next`` set, so only ``has_next`` says whether more follows."""
        return len(self.results) < self.limit


class DeskClient:
    """Reads bots and webhook logs from one Desk API base URL.

    Every request is paced by ``max_rps`` and retried per ``retry``; failures raise the
    DeskError tree (errors.py), never requests' exceptions, and no error, repr or log
    line holds the token. ``stop_event`` cuts any wait short with DeskRetryableError.
    """

    def __init__(self, base_url: str, token: "str | SecretStr | Callable[[], str]", *, max_rps: float = 2.0,
                 timeout_s: float = 10.0, retry: RetryPolicy | None = None, stop_event: threading.Event | None = None,
                 on_request: Callable[[RequestInfo], None] | None = None,
                 on_retry: Callable[[RetryInfo], None] | None = None,
                 sleep: Callable[[float], Any] | None = None, monotonic: Callable[[], float] | None = None,
                 session: requests.Session | None = None, url_setting: str = "DESK_API_URL"):
        # token: str, pydantic SecretStr (duck-typed so this module needs no pydantic), or a callable
        # asked before each request (desk/token.py FileToken: a file re-read when it changes).
        secret = token.get_secret_value() if hasattr(token, "get_secret_value") else token
        self._transport = Transport(
            base_url, secret, max_rps=max_rps, timeout_s=timeout_s, retry=retry or RetryPolicy(),
            stop_event=stop_event, on_request=on_request, on_retry=on_retry, sleep=sleep,
            monotonic=monotonic, session=session, url_setting=url_setting)

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def __repr__(self) -> str:
        return f"DeskClient({self.base_url!r})"

    def __enter__(self) -> "DeskClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def isolate_bots(self, attempts: int = 2, max_wait_s: float = 1.0) -> None:
        """Bot requests fail after ``attempts`` tries or a retry wait over ``max_wait_s`` (the scheduler
        then delays that bot alone); see Transport.isolate_bots."""
        self._transport.isolate_bots(attempts, max_wait_s)

    def close(self) -> None:
        """Close the HTTP session (only one the client created itself)."""
        self._transport.close()

    def list_bots(self) -> list[Bot]:
        """Every bot of every type, all pages; the caller keeps the CUSTOM ones.

        Only limit and offset are sent (docs/desk-api.md#bots). A bot without a usable id is
        skipped with a warning rather than failing the whole list.
        """
        bots: list[Bot] = []
        offset = 0
        while True:
            page = self._page(BOTS, None, [("limit", BOTS_PAGE_SIZE), ("offset", offset)], offset, BOTS_PAGE_SIZE)
            for item in page.results:
                try:
                    bots.append(parse_bot(item))
                except MalformedEntryError as error:
                    logger.warning("Desk listed a bot that cannot be used, skipped: %s", error)
            offset = page.next_offset
            if not page.has_next:
                return bots

    def get_bot(self, bot_id: int) -> Bot:
        """One bot by id; DeskResponseError (404) if Desk does not know it."""
        body = self._transport.get_json(BOT, bot_id=_check_id(bot_id), check=_bot_problem)
        return parse_bot(body)

    def get_webhook_logs_page(self, bot_id: int, *, offset: int, limit: int, order: str = "id",
                              start_date: date | None = None, end_date: date | None = None,
                              statuses: Sequence[str] = ()) -> Page:
        """One page of a bot's webhook logs; arguments Desk may not accept raise ValueError, unsent."""
        params = _webhook_log_params(offset, limit, order, start_date, end_date, statuses)
        return self._page(WEBHOOK_LOGS, _check_id(bot_id), params, offset, limit)

    def _page(self, template: str, bot_id: int | None, params: Params, offset: int, limit: int) -> Page:
        body = self._transport.get_json(template, bot_id=bot_id, params=params, check=_envelope_problem)
        results = body["results"]
        count = body.get("count")
        if isinstance(count, bool) or not isinstance(count, int):
            count = None
        more = body.get("next") is not None and bool(results) and (count is None or offset + len(results) < count)
        return Page(offset, limit, results, count, more)


def _webhook_log_params(offset: int, limit: int, order: str, start_date: date | None, end_date: date | None,
                        statuses: Sequence[str]) -> list[tuple[str, str | int]]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError("offset must be a non-negative integer")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    if isinstance(statuses, str) or not all(isinstance(status, str) and status for status in statuses):
        raise ValueError("statuses must be a sequence of non-empty strings")
    params: list[tuple[str, str | int]] = [("limit", limit), ("offset", offset), ("order", order)]
    for name, value in (("start_date", start_date), ("end_date", end_date)):
        if value is not None:
            # A datetime is a date too, but which day it means depends on a zone: refuse it.
            if isinstance(value, datetime) or not isinstance(value, date):
                raise ValueError(f"{name} must be a datetime.date")
            params.append((name, value.isoformat()))
    # Repeated parameters make a multi-value filter (docs/desk-api.md#lists-and-pagination).
    params.extend(("status", status) for status in statuses)
    return params


def _envelope_problem(body: Any) -> str | None:
    # docs/desk-api.md#lists-and-pagination: {"count", "next", "previous", "results": [...]}.
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
        return "the body lacked a `results` list"
    return None


def _bot_problem(body: Any) -> str | None:
    try:
        parse_bot(body)
    except MalformedEntryError as error:
        return f"the body was not a bot ({error.reason})"
    return None


def _check_id(bot_id: int) -> int:
    if isinstance(bot_id, bool) or not isinstance(bot_id, int) or bot_id < 0:
        raise ValueError("bot_id must be a non-negative integer")
    return bot_id
