"""DeskClient against the emulator: bots and webhook log pages, and the arguments it refuses to send.

How pages are walked (offsets, not `next`; date windows in any zone) is tested on the live path:
tests/pipeline/test_read_window.py runs the pipeline against the emulator."""

from datetime import date, datetime, timedelta, timezone

import pytest

from tests.harness.clock import FROZEN_AT


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


# JSON nested deeper than the decoder's recursion limit: json.loads raises RecursionError, not ValueError.
DEEP_JSON = "[" * 200_000


@pytest.mark.parametrize("plan, first_error", [
    pytest.param(lambda faults: faults.malformed_next(2, body=DEEP_JSON), "malformed_response", id="200"),
    pytest.param(lambda faults: faults.fail_next(2, status=503, body=DEEP_JSON), "503", id="503-error-body"),
])
def test_json_nested_too_deep_is_an_unusable_answer_retried(desk_emulator, custom_bot, make_desk_client, plan,
                                                            first_error):
    plan(desk_emulator.faults)
    seen = []
    page = make_desk_client(desk_emulator.url, on_request=seen.append).get_webhook_logs_page(custom_bot, offset=0,
                                                                                             limit=5)
    assert page.results == []
    assert [info.error_type for info in seen] == [first_error, first_error, None]
