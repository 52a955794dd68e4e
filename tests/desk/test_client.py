"""DeskClient against the emulator: bots, webhook log pages, pagination and date windows."""

from datetime import date, datetime, timedelta, timezone

import pytest
import requests

from otel_desk_receiver.desk.models import MalformedEntryError, WebhookLog
from tests.desk.conftest import FROZEN_AT, LOGS_PATH


def test_pages_advance_by_offset_not_by_next(make_desk_emulator, make_desk_client):
    desk_emulator = make_desk_emulator(frozen_at=FROZEN_AT, public_url="http://wrong-host.invalid:9")
    bot_id = desk_emulator.add_bot(name="Busy", type="CUSTOM")["id"]
    ids = list(desk_emulator.add_entries(bot_id, 25, start=FROZEN_AT - timedelta(hours=1)))
    next_links = []
    session = requests.Session()
    session.hooks["response"].append(lambda response, **_: next_links.append(response.json()["next"]))
    client = make_desk_client(desk_emulator.url, session=session)
    with session:
        pages = list(client.iter_webhook_logs(bot_id, since=FROZEN_AT - timedelta(hours=2), page_size=10))
    assert next_links[0].startswith("http://wrong-host.invalid:9/")  # followed blindly, it would fail
    assert [len(page) for page in pages] == [10, 10, 5]  # the short page ends it
    assert [entry.id for page in pages for entry in page] == ids
    assert [record.query["offset"] for record in desk_emulator.requests] == [["0"], ["10"], ["20"]]
    assert all(record.query["order"] == ["created_at"] for record in desk_emulator.requests)


def test_full_last_page_with_null_next_stops(desk_emulator, custom_bot, make_desk_client):
    desk_emulator.add_entries(custom_bot, 20, start=FROZEN_AT - timedelta(hours=1))
    client = make_desk_client(desk_emulator.url)
    pages = list(client.iter_webhook_logs(custom_bot, since=FROZEN_AT - timedelta(hours=2), page_size=10))
    assert [len(page) for page in pages] == [10, 10]
    assert desk_emulator.request_count(path_contains=LOGS_PATH) == 2


def test_page_fields(desk_emulator, custom_bot, make_desk_client):
    desk_emulator.add_entries(custom_bot, 7, start=FROZEN_AT - timedelta(hours=1))
    client = make_desk_client(desk_emulator.url)
    first = client.get_webhook_logs_page(custom_bot, offset=0, limit=5)
    last = client.get_webhook_logs_page(custom_bot, offset=5, limit=5)
    assert (first.offset, first.limit, len(first.results), first.count, first.has_next, first.next_offset) == (
        0, 5, 5, 7, True, 5)
    assert (len(last.results), last.has_next) == (2, False)
    assert all(isinstance(item, dict) for item in first.results + last.results)


def test_status_filter_repeats_the_parameter(desk_emulator, custom_bot, make_desk_client):
    desk_emulator.add_entries(custom_bot, 9, statuses=("SENT", "ERROR", "RECEIVED"),
                              start=FROZEN_AT - timedelta(hours=1))
    page = make_desk_client(desk_emulator.url).get_webhook_logs_page(
        custom_bot, offset=0, limit=50, statuses=("SENT", "ERROR"), start_date=date(2024, 3, 9),
        end_date=date(2024, 3, 11))
    assert sorted(item["status"] for item in page.results) == ["ERROR"] * 3 + ["SENT"] * 3
    query = desk_emulator.requests[-1].query
    assert query["status"] == ["SENT", "ERROR"]
    assert (query["start_date"], query["end_date"], query["order"]) == (["2024-03-09"], ["2024-03-11"], ["id"])


# Instants around UTC midnight of 2024-03-05; the window [since, until) holds the 4th and 5th.
NEAR_MIDNIGHT = [datetime(2024, 3, 4, 14, 59, 59, tzinfo=timezone.utc),
                 datetime(2024, 3, 4, 23, 59, 59, 999999, tzinfo=timezone.utc),
                 datetime(2024, 3, 5, 0, 0, tzinfo=timezone.utc),
                 datetime(2024, 3, 5, 4, 59, 59, tzinfo=timezone.utc),
                 datetime(2024, 3, 5, 14, 59, 59, 999999, tzinfo=timezone.utc),
                 datetime(2024, 3, 5, 15, 0, tzinfo=timezone.utc),
                 datetime(2024, 3, 6, 0, 0, 1, tzinfo=timezone.utc)]
WINDOW_SINCE = datetime(2024, 3, 5, 0, 0, tzinfo=timezone.utc)
WINDOW_UNTIL = datetime(2024, 3, 5, 15, 0, tzinfo=timezone.utc)


# -05:00 would lose 00:00-04:59Z without the day before; +14:00 would lose 10:00-14:59Z without the day after.
@pytest.mark.parametrize("time_zone", ["UTC", "+09:00", "-05:00", "+14:00", "-11:00"])
def test_date_window_widened_and_filtered_locally(make_desk_emulator, make_desk_client, time_zone):
    desk_emulator = make_desk_emulator(frozen_at=FROZEN_AT, time_zone=time_zone)
    bot_id = desk_emulator.add_bot(name="Zoned", type="CUSTOM")["id"]
    ids = [desk_emulator.add_entry(bot_id, status="RECEIVED", created_at=moment)["id"] for moment in NEAR_MIDNIGHT]
    client = make_desk_client(desk_emulator.url)
    pages = list(client.iter_webhook_logs(bot_id, since=WINDOW_SINCE, until=WINDOW_UNTIL))
    assert [entry.id for page in pages for entry in page] == ids[2:5]
    query = desk_emulator.requests[0].query
    assert (query["start_date"], query["end_date"]) == (["2024-03-04"], ["2024-03-06"])


def test_since_in_another_zone(desk_emulator, custom_bot, make_desk_client):
    seoul = timezone(timedelta(hours=9))
    inside = desk_emulator.add_entry(custom_bot, created_at=datetime(2024, 3, 5, 0, 30, tzinfo=seoul))["id"]
    desk_emulator.add_entry(custom_bot, created_at=datetime(2024, 3, 4, 23, 59, tzinfo=seoul))
    pages = list(make_desk_client(desk_emulator.url).iter_webhook_logs(
        custom_bot, since=datetime(2024, 3, 5, 0, 0, tzinfo=seoul)))
    assert [[entry.id for entry in page] for page in pages] == [[inside]]
    assert desk_emulator.requests[0].query["start_date"] == ["2024-03-03"]  # 2024-03-04 UTC minus a day
    assert "end_date" not in desk_emulator.requests[0].query


def test_malformed_entries_come_as_errors(desk_emulator, custom_bot, make_desk_client):
    good = desk_emulator.add_entry(custom_bot, created_at=FROZEN_AT - timedelta(minutes=5))["id"]
    desk_emulator.add_entry(custom_bot, created_at=FROZEN_AT - timedelta(minutes=4), extra={"createdAt": "garbage"})
    client = make_desk_client(desk_emulator.url)
    pages = list(client.iter_webhook_logs(custom_bot, since=FROZEN_AT - timedelta(hours=1)))
    (page,) = pages
    assert isinstance(page[0], WebhookLog) and page[0].id == good
    assert isinstance(page[1], MalformedEntryError) and page[1].reason == "bad_created_at"


@pytest.mark.parametrize("kwargs", [
    pytest.param({"offset": 0, "limit": 0}, id="limit-0"),
    pytest.param({"offset": 0, "limit": 501}, id="limit-501"),
    pytest.param({"offset": 0, "limit": -5}, id="limit-negative"),
    pytest.param({"offset": 0, "limit": 10.0}, id="limit-float"),
    pytest.param({"offset": -1, "limit": 10}, id="offset-negative"),
    pytest.param({"offset": 0, "limit": 10, "order": "name"}, id="order-unknown"),
    pytest.param({"offset": 0, "limit": 10, "statuses": "SENT"}, id="statuses-bare-string"),
    pytest.param({"offset": 0, "limit": 10, "start_date": datetime(2024, 3, 1, tzinfo=timezone.utc)},
                 id="start-date-datetime"),
])
def test_out_of_range_arguments_refused_before_any_request(desk_emulator, custom_bot, make_desk_client, kwargs):
    with pytest.raises(ValueError):
        make_desk_client(desk_emulator.url).get_webhook_logs_page(custom_bot, **kwargs)
    assert desk_emulator.request_count() == 0


@pytest.mark.parametrize("kwargs", [
    pytest.param({"page_size": 1000}, id="page-size-1000"),
    pytest.param({"page_size": 0}, id="page-size-0"),
    pytest.param({"since": datetime(2024, 3, 1)}, id="naive-since"),
    pytest.param({"until": datetime(2024, 3, 1)}, id="naive-until"),
    pytest.param({"order": "newest"}, id="order-unknown"),
])
def test_iterator_refuses_bad_arguments_before_any_request(desk_emulator, custom_bot, make_desk_client, kwargs):
    arguments = {"since": FROZEN_AT - timedelta(hours=1), **kwargs}
    with pytest.raises(ValueError):
        make_desk_client(desk_emulator.url).iter_webhook_logs(custom_bot, **arguments)
    assert desk_emulator.request_count() == 0


def test_list_bots_reads_every_page(desk_emulator, make_desk_client):
    ids = [desk_emulator.add_bot(name=f"bot-{n}", type="FAQ" if n % 10 == 0 else "CUSTOM")["id"] for n in range(230)]
    bots = make_desk_client(desk_emulator.url).list_bots()
    assert [bot.id for bot in bots] == ids
    assert sum(not bot.is_custom for bot in bots) == 23
    assert [sorted(record.query) for record in desk_emulator.requests] == [["limit", "offset"]] * 3


def test_bot_fields_read(desk_emulator, make_desk_client):
    created = desk_emulator.add_bot(name="Slow", type="CUSTOM", timeout_seconds=120, is_unread_error=True,
                               webhook_url="https://bots.example/hook")
    bot = make_desk_client(desk_emulator.url).get_bot(created["id"])
    assert (bot.name, bot.type, bot.timeout_s, bot.is_unread_error, bot.webhook_url) == (
        "Slow", "CUSTOM", 120.0, True, "https://bots.example/hook")
    assert bot.is_custom
