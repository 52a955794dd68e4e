"""The one boundary to Desk, driven through DeskClient against the emulator: auth, errors, retries, pacing."""

import threading
import traceback
from urllib.parse import urlsplit

import pytest
import requests
from pydantic import SecretStr

from otel_desk_receiver.desk.client import DeskClient
from otel_desk_receiver.desk.throttle import RetryPolicy
from otel_desk_receiver.errors import ConfigError, DeskAuthError, DeskError, DeskResponseError, DeskRetryableError
from tests.harness.fixtures.emulator import EMULATOR_TOKEN, LOGS_PATH
from tests.harness.wait import wait_until


def test_headers_sent(desk_emulator, custom_bot, make_desk_client):
    sent = []
    session = requests.Session()
    session.hooks["response"].append(lambda response, **_: sent.append(response.request.headers))
    try:
        make_desk_client(desk_emulator.url, session=session).get_bot(custom_bot)
    finally:
        session.close()
    assert sent[0]["SENDBIRDDESKAPITOKEN"] == EMULATOR_TOKEN
    assert sent[0]["Content-Type"] == "application/json; charset=utf8"
    assert sent[0]["User-Agent"].startswith("otel-desk-receiver/")
    assert "Authorization" not in sent[0]


def test_secret_str_token_accepted(desk_emulator, custom_bot, make_desk_client):
    assert make_desk_client(desk_emulator.url, token=SecretStr(EMULATOR_TOKEN)).get_bot(custom_bot).id == custom_bot


def test_wrong_token_is_fatal_at_once(desk_emulator, make_desk_client):
    client = make_desk_client(desk_emulator.url, token="not-the-token")
    with pytest.raises(DeskAuthError) as caught:
        client.list_bots()
    assert desk_emulator.request_count() == 1
    assert caught.value.status_code == 401
    assert "DESK_API_TOKEN" in str(caught.value)
    assert "GET /bots" in str(caught.value)
    assert "not-the-token" not in str(caught.value)


def test_forbidden_is_fatal_at_once(desk_emulator, custom_bot, make_desk_client):
    desk_emulator.faults.fail_next(3, status=403)
    with pytest.raises(DeskAuthError) as caught:
        make_desk_client(desk_emulator.url).get_webhook_logs_page(custom_bot, offset=0, limit=10)
    assert desk_emulator.request_count() == 1
    assert caught.value.status_code == 403
    assert "DESK_API_TOKEN" in str(caught.value)
    assert f"GET /bots/{{bot_id}}/webhook_logs (bot {custom_bot})" in str(caught.value)


def test_unknown_bot_is_not_retried(desk_emulator, make_desk_client):
    with pytest.raises(DeskResponseError) as caught:
        make_desk_client(desk_emulator.url).get_bot(987654)
    assert desk_emulator.request_count() == 1
    assert caught.value.status_code == 404
    assert "bot 987654" in str(caught.value)


def test_faq_bot_logs_are_a_bad_request(desk_emulator, make_desk_client):
    faq = desk_emulator.add_bot(name="FAQ", type="FAQ")["id"]
    with pytest.raises(DeskResponseError) as caught:
        make_desk_client(desk_emulator.url).get_webhook_logs_page(faq, offset=0, limit=10)
    assert desk_emulator.request_count() == 1
    assert caught.value.status_code == 400
    assert "HTTP 400: " in str(caught.value) and len(str(caught.value).split("HTTP 400: ")[1]) > 0


@pytest.mark.parametrize("header", ["Retry-After", "X-RateLimit-RetryAfter"])
def test_rate_limit_hint_honoured(desk_emulator, custom_bot, make_desk_client, fake_clock, header):
    desk_emulator.faults.fail_next(3, status=429, retry_after=2, header=header, path_contains=LOGS_PATH)
    retries = []
    client = make_desk_client(desk_emulator.url, on_retry=retries.append)
    page = client.get_webhook_logs_page(custom_bot, offset=0, limit=10)
    assert page.results == []
    assert fake_clock.sleeps == [2.0, 2.0, 2.0]
    assert [(info.attempt, info.delay_s, info.error.status_code) for info in retries] == [
        (1, 2.0, 429), (2, 2.0, 429), (3, 2.0, 429)]
    assert desk_emulator.request_count(path_contains=LOGS_PATH) == 4


def test_rate_limit_hint_is_capped(desk_emulator, custom_bot, make_desk_client, fake_clock):
    desk_emulator.faults.fail_next(1, status=429, retry_after=3600)
    make_desk_client(desk_emulator.url, retry=RetryPolicy(max_hint_s=60.0)).get_bot(custom_bot)
    assert fake_clock.sleeps == [60.0]


def test_server_error_storm_gets_through(desk_emulator, custom_bot, make_desk_client):
    desk_emulator.faults.fail_next(5, status=503)
    policy = RetryPolicy(base_s=0.5, cap_s=30.0)
    retries = []
    bot = make_desk_client(desk_emulator.url, retry=policy, on_retry=retries.append).get_bot(custom_bot)
    assert bot.id == custom_bot
    assert desk_emulator.request_count() == 6
    assert [info.attempt for info in retries] == [1, 2, 3, 4, 5]
    for info in retries:
        assert 0.0 <= info.delay_s <= policy.backoff_ceiling_s(info.attempt)
        assert info.error.status_code == 503


def test_retries_exhausted(desk_emulator, custom_bot, make_desk_client):
    desk_emulator.faults.fail_next(10, status=500)
    with pytest.raises(DeskRetryableError) as caught:
        make_desk_client(desk_emulator.url, retry=RetryPolicy(max_attempts=4)).get_bot(custom_bot)
    assert desk_emulator.request_count() == 4
    assert caught.value.status_code == 500
    assert "HTTP 500" in str(caught.value) and "gave up after 4 attempts" in str(caught.value)


def test_malformed_json_is_retried(desk_emulator, custom_bot, make_desk_client):
    desk_emulator.faults.malformed_next(2)
    assert make_desk_client(desk_emulator.url).get_webhook_logs_page(custom_bot, offset=0, limit=5).results == []
    assert desk_emulator.request_count() == 3


def test_malformed_json_reported_clearly(desk_emulator, custom_bot, make_desk_client):
    desk_emulator.faults.malformed_next(3)
    with pytest.raises(DeskRetryableError) as caught:
        make_desk_client(desk_emulator.url, retry=RetryPolicy(max_attempts=3)).list_bots()
    assert desk_emulator.request_count() == 3
    assert "body was not valid JSON" in str(caught.value)
    assert caught.value.status_code == 200


def test_dropped_connection_is_retried(desk_emulator, custom_bot, make_desk_client):
    desk_emulator.faults.drop_next(2)
    requests_seen = []
    bot = make_desk_client(desk_emulator.url, on_request=requests_seen.append).get_bot(custom_bot)
    assert bot.id == custom_bot
    assert [(info.status_code, info.error_type) for info in requests_seen] == [
        (None, "connection_error"), (None, "connection_error"), (200, None)]


def test_timeout_is_retried(desk_emulator, custom_bot, make_desk_client):
    desk_emulator.faults.configure(latency_s=1.0)
    retries = []

    def heal(info):  # the first attempt timed out: let the next one through
        retries.append(info)
        desk_emulator.faults.configure()

    bot = make_desk_client(desk_emulator.url, timeout_s=0.2, on_retry=heal).get_bot(custom_bot)
    assert bot.id == custom_bot
    assert len(retries) == 1
    assert "no answer within 200 ms" in str(retries[0].error)


def test_connection_refused_is_retryable(closed_port_url, make_desk_client):
    with pytest.raises(DeskRetryableError) as caught:
        make_desk_client(closed_port_url, retry=RetryPolicy(max_attempts=2)).list_bots()
    assert "connection failed" in str(caught.value)
    assert "gave up after 2 attempts" in str(caught.value)


def test_rate_cap_respected(desk_emulator, custom_bot, make_desk_client, fake_clock):
    starts = []
    client = make_desk_client(desk_emulator.url, max_rps=2.0, on_request=lambda info: starts.append(fake_clock.now_s))
    began = fake_clock.now_s
    for _ in range(9):
        client.get_bot(custom_bot)
    assert desk_emulator.request_count() == 9
    assert fake_clock.now_s - began >= 4.0 - 1e-9  # 9 requests at 2/s span at least 4 s
    assert all(later - earlier >= 0.5 - 1e-9 for earlier, later in zip(starts, starts[1:]))


def test_on_request_called_per_attempt(desk_emulator, custom_bot, make_desk_client):
    desk_emulator.faults.fail_next(1, status=503, path_contains=LOGS_PATH)
    seen = []
    client = make_desk_client(desk_emulator.url, on_request=seen.append)
    client.get_webhook_logs_page(custom_bot, offset=0, limit=10)
    port = urlsplit(desk_emulator.url).port
    assert [(info.method, info.url_template, info.server_address, info.server_port, info.bot_id) for info in seen] == [
        ("GET", "/bots/{bot_id}/webhook_logs", "127.0.0.1", port, custom_bot)] * 2
    assert [(info.attempt, info.status_code, info.error_type) for info in seen] == [(1, 503, "503"), (2, 200, None)]
    assert all(info.duration_s >= 0 for info in seen)


def test_shutdown_cuts_a_backoff_short(desk_emulator, custom_bot, make_desk_client):
    stop = threading.Event()
    desk_emulator.faults.fail_next(5, status=503, retry_after=120)
    client = make_desk_client(desk_emulator.url, stop_event=stop, sleep=lambda seconds: stop.set())
    with pytest.raises(DeskRetryableError) as caught:
        client.get_bot(custom_bot)
    assert "shutdown requested" in str(caught.value)
    assert desk_emulator.request_count() == 1


def test_shutdown_wakes_a_real_wait(desk_emulator, custom_bot):
    stop = threading.Event()
    desk_emulator.faults.fail_next(5, status=429, retry_after=300)
    outcome = []
    client = DeskClient(desk_emulator.url, EMULATOR_TOKEN, stop_event=stop)

    def call():
        try:
            client.get_bot(custom_bot)
        except DeskError as error:
            outcome.append(error)

    worker = threading.Thread(target=call)
    worker.start()
    try:
        wait_until(lambda: desk_emulator.request_count() >= 1, 5, "the first 429 to go out", poll_s=0.01)
    finally:
        stop.set()  # the client's wait ends: no thread left waiting 300 s if the test fails
    worker.join(timeout=10)
    client.close()
    assert not worker.is_alive()
    assert len(outcome) == 1 and "shutdown requested" in str(outcome[0])


def test_bad_token_refused_before_any_request(desk_emulator, make_desk_client):
    with pytest.raises(ConfigError) as caught:
        make_desk_client(desk_emulator.url, token="line\r\nInjected: yes")
    assert "DESK_API_TOKEN" in str(caught.value) and "Injected" not in str(caught.value)
    assert desk_emulator.request_count() == 0


SHORT = RetryPolicy(max_attempts=2)
# Each scenario: (emulator, bot id, client factory, dead URL) -> the call that fails.
FAILURES = {
    "403": lambda emu, bot, make, dead: (emu.faults.fail_next(1, status=403), make(emu.url).get_bot(bot)),
    "401-wrong-token": lambda emu, bot, make, dead: make(emu.url, token="wrong-" + EMULATOR_TOKEN).list_bots(),
    "404": lambda emu, bot, make, dead: make(emu.url).get_bot(987654),
    "500-exhausted": lambda emu, bot, make, dead: (emu.faults.fail_next(2, status=500),
                                                   make(emu.url, retry=SHORT).list_bots()),
    "malformed-exhausted": lambda emu, bot, make, dead: (emu.faults.malformed_next(2),
                                                         make(emu.url, retry=SHORT).list_bots()),
    "dropped-exhausted": lambda emu, bot, make, dead: (emu.faults.drop_next(2),
                                                       make(emu.url, retry=SHORT).list_bots()),
    "refused-exhausted": lambda emu, bot, make, dead: make(dead, retry=SHORT).list_bots(),
}


@pytest.mark.parametrize("scenario", FAILURES.values(), ids=FAILURES.keys())
def test_token_never_in_errors_or_logs(desk_emulator, custom_bot, make_desk_client, closed_port_url, caplog,
                                       scenario):
    caplog.set_level("DEBUG")
    with pytest.raises(DeskError) as caught:
        scenario(desk_emulator, custom_bot, make_desk_client, closed_port_url)
    error = caught.value
    rendered = [str(error), repr(error), repr(error.args), caplog.text,
                "".join(traceback.format_exception(type(error), error, error.__traceback__))]
    assert not any(EMULATOR_TOKEN in text for text in rendered), rendered[0]
    # Nothing chains back to requests' exception, whose request object holds the token header.
    assert error.__cause__ is None
    assert error.__context__ is None or isinstance(error.__context__, DeskError)


def test_token_not_in_client_repr(desk_emulator, make_desk_client):
    assert EMULATOR_TOKEN not in repr(make_desk_client(desk_emulator.url, token=SecretStr(EMULATOR_TOKEN)))


def test_token_echoed_by_desk_is_masked(make_desk_emulator, make_desk_client):
    # The emulator's FAQ error body quotes its error code; with that code as the token, Desk "echoes" it.
    echoed = "desk400105"
    desk_emulator = make_desk_emulator(token=echoed)
    faq = desk_emulator.add_bot(name="FAQ", type="FAQ")["id"]
    with pytest.raises(DeskResponseError) as caught:
        make_desk_client(desk_emulator.url, token=echoed).get_webhook_logs_page(faq, offset=0, limit=1)
    assert echoed not in str(caught.value)
    assert "REDACTED" in str(caught.value)


def test_a_429_hint_holds_the_requests_of_every_thread(desk_emulator, custom_bot, make_desk_client, fake_clock):
    # Desk's rate limit is the app's: while one worker waits out a 429's hint, another does not go ahead.
    other = desk_emulator.add_bot("other")["id"]
    desk_emulator.faults.fail_next(1, status=429, retry_after=2, path_contains=f"/bots/{custom_bot}/")
    waits: dict[str, list[float]] = {"first": [], "other": []}
    other_done = threading.Event()

    def sleep(seconds: float) -> None:
        name = threading.current_thread().name
        waits[name].append(seconds)
        if name == "first":  # the first worker's wait: the other asks meanwhile
            other_done.wait(30)
        fake_clock.sleep(seconds)
    client = make_desk_client(desk_emulator.url, sleep=sleep, max_rps=10)
    first = threading.Thread(target=lambda: client.get_webhook_logs_page(custom_bot, offset=0, limit=10), name="first")
    first.start()
    wait_until(lambda: waits["first"], what="the first worker waiting out the hint")
    second = threading.Thread(target=lambda: (client.get_webhook_logs_page(other, offset=0, limit=10),
                                              other_done.set()), name="other")
    second.start()
    second.join(30)
    first.join(30)
    assert waits["first"] == [pytest.approx(2.0)]
    assert sum(waits["other"]) >= 2.0  # it waited for the hint too (0.1 s, its own slot, before)


def test_sixteen_reads_in_flight_at_once_keep_their_connections(desk_emulator, make_desk_client, caplog):
    # DESK_CONCURRENCY allows 16 turns, each with a page read ahead: urllib3's pool of 10 discarded the rest.
    bots = [desk_emulator.add_bot(f"bot-{n}")["id"] for n in range(16)]
    release = desk_emulator.faults.hold_next(16, path_contains="webhook_logs")
    client = make_desk_client(desk_emulator.url, max_rps=1000)
    readers = [threading.Thread(target=client.get_webhook_logs_page, args=(bot,), kwargs={"offset": 0, "limit": 1})
               for bot in bots]
    for reader in readers:
        reader.start()
    wait_until(lambda: desk_emulator.faults.settings()["pending_one_shot"] == 0, what="16 reads held at once")
    release.set()
    for reader in readers:
        reader.join(30)
    assert desk_emulator.request_count("webhook_logs") == 16
    assert "Connection pool is full" not in caplog.text
