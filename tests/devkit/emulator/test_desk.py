"""DeskState's webhook log listing, read as GET /bots/{id}/webhook_logs over real HTTP: limits, orders, date
windows, status filters, entry fields, retention, the virtual clock."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.harness.clock import NOON


@pytest.fixture
def bot_with_entries(frozen_emulator):
    """Bot with 10 entries one minute apart ending at NOON, statuses cycling SENT/RECEIVED/ERROR."""
    bot = frozen_emulator.add_bot("alpha")
    ids = frozen_emulator.add_entries(bot["id"], 10, statuses=("SENT", "RECEIVED", "ERROR"),
                                      start=NOON - timedelta(minutes=9), spacing_s=60)
    return frozen_emulator, bot, list(ids)


def fetch(emulator, session, bot, **params):
    response = session.get(f"{emulator.url}/bots/{bot['id']}/webhook_logs", params=params, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    "limit, served",
    [
        pytest.param(None, 10, id="default-50"),
        pytest.param(3, 3, id="within-range"),
        pytest.param(0, 1, id="zero-clamps-to-1"),
        pytest.param(-4, 1, id="negative-clamps-to-1"),
        pytest.param(9000, 10, id="above-500-clamps"),
    ],
)
def test_limit_is_clamped(bot_with_entries, desk_session, limit, served):
    emulator, bot, _ = bot_with_entries
    params = {} if limit is None else {"limit": limit}
    assert len(fetch(emulator, desk_session, bot, **params)["results"]) == served


def test_limit_above_500_serves_500(frozen_emulator, desk_session):
    bot = frozen_emulator.add_bot("alpha")
    frozen_emulator.add_entries(bot["id"], 600)
    page = fetch(frozen_emulator, desk_session, bot, limit=501)
    assert len(page["results"]) == 500 and page["count"] == 600


def test_negative_offset_clamps_to_zero(bot_with_entries, desk_session):
    emulator, bot, ids = bot_with_entries
    assert fetch(emulator, desk_session, bot, offset=-5, order="id")["results"][0]["id"] == ids[0]


def test_offset_past_the_end_is_an_empty_page(bot_with_entries, desk_session):
    emulator, bot, _ = bot_with_entries
    page = fetch(emulator, desk_session, bot, offset=50)
    assert page["results"] == [] and page["count"] == 10 and page["next"] is None


@pytest.mark.parametrize(
    "params, names",
    [
        pytest.param({"offset": "x"}, "offset", id="offset-not-integer"),
        pytest.param({"limit": "many"}, "limit", id="limit-not-integer"),
        pytest.param({"order": "status"}, "order", id="unknown-order"),
        pytest.param({"start_date": "2026-13-01"}, "start_date", id="impossible-date"),
        pytest.param({"end_date": "10/03/2026"}, "end_date", id="not-iso-date"),
        pytest.param({"start_date": "2026-03-10T00:00:00"}, "start_date", id="datetime-not-date"),
    ],
)
def test_bad_parameters_are_400(bot_with_entries, desk_session, params, names):
    emulator, bot, _ = bot_with_entries
    response = desk_session.get(f"{emulator.url}/bots/{bot['id']}/webhook_logs", params=params, timeout=5)
    assert response.status_code == 400
    assert names in response.json()["message"]


@pytest.mark.parametrize(
    "order, expected",
    [
        pytest.param(None, "newest-first", id="default-is-minus-created_at"),
        pytest.param("-created_at", "newest-first", id="-created_at"),
        pytest.param("created_at", "oldest-first", id="created_at"),
        pytest.param("id", "oldest-first", id="id"),
        pytest.param("-id", "newest-first", id="-id"),
    ],
)
def test_orders(bot_with_entries, desk_session, order, expected):
    emulator, bot, ids = bot_with_entries
    params = {"limit": 4, "offset": 2} | ({"order": order} if order else {})
    served = [entry["id"] for entry in fetch(emulator, desk_session, bot, **params)["results"]]
    assert served == (ids[2:6] if expected == "oldest-first" else ids[::-1][2:6])


def test_id_order_differs_from_created_order_when_ids_do(frozen_emulator, desk_session):
    bot = frozen_emulator.add_bot("alpha")
    late = frozen_emulator.add_entry(bot["id"], created_at=NOON - timedelta(minutes=1))
    early = frozen_emulator.add_entry(bot["id"], created_at=NOON - timedelta(minutes=5))
    by_created = [e["id"] for e in fetch(frozen_emulator, desk_session, bot, order="created_at")["results"]]
    by_id = [e["id"] for e in fetch(frozen_emulator, desk_session, bot, order="id")["results"]]
    assert by_created == [early["id"], late["id"]] and by_id == [late["id"], early["id"]]


@pytest.mark.parametrize(
    "statuses, expected",
    [
        pytest.param(["ERROR"], {"ERROR"}, id="one"),
        pytest.param(["SENT", "ERROR"], {"SENT", "ERROR"}, id="repeated"),
        pytest.param(["TIMEOUT"], set(), id="none-match"),
        pytest.param(["BOGUS"], set(), id="unknown-status"),
    ],
)
def test_status_filters(bot_with_entries, desk_session, statuses, expected):
    emulator, bot, _ = bot_with_entries
    page = fetch(emulator, desk_session, bot, status=statuses)
    assert {entry["status"] for entry in page["results"]} == expected
    assert page["count"] == len(page["results"])


# Project zone +09:00: the project day 2026-03-10 runs from 2026-03-09T15:00Z to 2026-03-10T15:00Z.
@pytest.mark.parametrize(
    "time_zone, start_date, end_date, expected_hours",
    [
        pytest.param("+09:00", "2026-03-10", "2026-03-10", [15, 20, 24, 34], id="one-day-fixed-offset"),
        pytest.param("Asia/Seoul", "2026-03-10", "2026-03-10", [15, 20, 24, 34], id="one-day-iana"),
        pytest.param("+09:00", "2026-03-11", None, [39], id="start-only"),
        pytest.param("+09:00", None, "2026-03-09", [10, 14], id="end-only-inclusive"),
        pytest.param("UTC", "2026-03-10", "2026-03-10", [24, 34, 39], id="utc"),
        pytest.param("+09:00", "2026-03-12", "2026-03-11", [], id="start-after-end"),
    ],
)
def test_date_windows_are_whole_project_days(make_desk_emulator, desk_session, time_zone, start_date, end_date,
                                             expected_hours):
    # Entries at these hours after 2026-03-09T00:00Z; 14 and 15 straddle a +09:00 midnight.
    midnight = datetime(2026, 3, 9, tzinfo=timezone.utc)
    emulator = make_desk_emulator(frozen_at=midnight + timedelta(days=3), time_zone=time_zone)
    bot = emulator.add_bot("alpha")
    hours = [10, 14, 15, 20, 24, 34, 39]
    by_id = {emulator.add_entry(bot["id"], created_at=midnight + timedelta(hours=h))["id"]: h for h in hours}
    params = {"order": "created_at"} | {k: v for k, v in (("start_date", start_date), ("end_date", end_date)) if v}
    page = fetch(emulator, desk_session, bot, **params)
    assert [by_id[entry["id"]] for entry in page["results"]] == expected_hours


def test_entry_fields(frozen_emulator, desk_session):
    bot = frozen_emulator.add_bot("alpha", webhook_url="https://user:secret@bots.example.com/hook?token=abc")
    added = frozen_emulator.add_entry(bot["id"], status="ERROR", extra={"custom": 1})
    [entry] = fetch(frozen_emulator, desk_session, bot)["results"]
    assert entry == added
    assert entry["status"] == "ERROR" and entry["custom"] == 1
    assert entry["webhookUrl"] == "https://user:secret@bots.example.com/hook?token=abc"
    assert "message" in json.loads(entry["requestBody"])
    assert datetime.fromisoformat(entry["createdAt"].replace("Z", "+00:00")) == NOON


def test_created_at_renderings_vary_but_mean_the_same_instant(make_desk_emulator, desk_session):
    emulator = make_desk_emulator(frozen_at=NOON, time_zone="+05:30")
    bot = emulator.add_bot("alpha")
    emulator.add_entries(bot["id"], 21, start=NOON - timedelta(seconds=21), spacing_s=1.0)
    entries = fetch(emulator, desk_session, bot, order="id")["results"]
    texts = [entry["createdAt"] for entry in entries]
    assert any(t.endswith("Z") for t in texts) and any(t.endswith("+00:00") for t in texts)
    assert any(t.endswith("+05:30") for t in texts)
    assert {len(t.split(".")[1].rstrip("Z").split("+")[0]) if "." in t else 0 for t in texts} == set(range(7))
    parsed = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in texts]
    assert parsed == [NOON - timedelta(seconds=21 - i) for i in range(21)]


def test_unknown_status_set_by_a_test_is_served(frozen_emulator, desk_session):
    bot = frozen_emulator.add_bot("alpha")
    entry = frozen_emulator.add_entry(bot["id"], status="SENT")
    frozen_emulator.set_status(bot["id"], entry["id"], "QUEUED")
    assert fetch(frozen_emulator, desk_session, bot, status="QUEUED")["results"][0]["id"] == entry["id"]


def test_retention_hides_entries_older_than_30_days(frozen_emulator, desk_session):
    bot = frozen_emulator.add_bot("alpha")
    old = frozen_emulator.add_entry(bot["id"], created_at=NOON - timedelta(days=29, hours=23))
    frozen_emulator.add_entry(bot["id"], created_at=NOON - timedelta(days=30, seconds=1))
    assert [e["id"] for e in fetch(frozen_emulator, desk_session, bot)["results"]] == [old["id"]]
    frozen_emulator.clock.advance(3600)
    assert fetch(frozen_emulator, desk_session, bot)["count"] == 0


def test_future_entries_appear_when_the_clock_reaches_them(frozen_emulator, desk_session):
    bot = frozen_emulator.add_bot("alpha")
    frozen_emulator.add_entry(bot["id"], created_at=NOON + timedelta(minutes=5))
    assert fetch(frozen_emulator, desk_session, bot)["count"] == 0
    frozen_emulator.clock.advance(300)
    assert fetch(frozen_emulator, desk_session, bot)["count"] == 1
