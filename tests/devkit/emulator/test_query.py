"""Desk list queries as the emulator reads them (clamped pages, refused values) and the envelope it answers."""

import re
from datetime import date

import pytest

from otel_desk_receiver.devkit.emulator.query import Page, QueryError, envelope, parse_log_query, parse_page


@pytest.mark.parametrize("params, page", [
    pytest.param([], Page(limit=50, offset=0), id="defaults"),
    pytest.param([("limit", ""), ("offset", "")], Page(limit=50, offset=0), id="blank-is-default"),
    pytest.param([("limit", "0"), ("offset", "-3")], Page(limit=1, offset=0), id="clamped-low"),
    pytest.param([("limit", "9000"), ("offset", "7")], Page(limit=500, offset=7), id="clamped-high"),
    pytest.param([("limit", "5"), ("limit", "9")], Page(limit=5, offset=0), id="first-value-wins"),
])
def test_pages_clamp_to_what_desk_serves(params, page):
    assert parse_page(params) == page


@pytest.mark.parametrize("params, message", [
    pytest.param([("limit", "ten")], "limit must be an integer (got 'ten')", id="limit"),
    pytest.param([("order", "name")], "order must be one of", id="order"),
    pytest.param([("start_date", "2026-3-1")], "start_date must be a date as YYYY-MM-DD", id="short-date"),
    pytest.param([("end_date", "2026-02-30")], "end_date must be a date as YYYY-MM-DD", id="no-such-day"),
])
def test_a_value_desk_would_refuse_names_its_parameter(params, message):
    with pytest.raises(QueryError, match=re.escape(message)):
        parse_log_query(params)


def test_a_log_query_keeps_every_status_and_both_dates():
    query = parse_log_query([("status", "SENT"), ("status", ""), ("status", "ERROR"), ("order", "id"),
                             ("start_date", "2026-03-01"), ("end_date", "2026-03-02")])
    assert query.statuses == ["SENT", "ERROR"] and query.order == "id"
    assert (query.start, query.end) == (date(2026, 3, 1), date(2026, 3, 2))
    assert parse_log_query([]).order == "-created_at"  # Desk's default: newest first


def test_envelope_links_change_only_the_offset():
    params = [("status", "SENT"), ("offset", "2"), ("limit", "2"), ("status", "ERROR")]
    answer = envelope(5, ["row"], Page(limit=2, offset=2), "http://desk", "/platform/v1/x", params)
    assert answer["count"] == 5 and answer["results"] == ["row"]
    assert answer["next"] == "http://desk/platform/v1/x?status=SENT&offset=4&limit=2&status=ERROR"
    assert answer["previous"] == "http://desk/platform/v1/x?status=SENT&limit=2&status=ERROR"  # offset 0 dropped


def test_the_last_page_has_no_next_and_the_first_no_previous():
    answer = envelope(3, [], Page(limit=3, offset=0), "http://desk", "/x", [])
    assert answer["next"] is None and answer["previous"] is None
    assert envelope(9, [], Page(limit=3, offset=0), "http://desk", "/x", [])["next"] == "http://desk/x?offset=3"
