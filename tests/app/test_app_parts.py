"""app/app_parts.py: one app's parts. Each app's Desk client paces its requests by its own max_rps: a slow app's
budget never paces another's requests."""

import http.server
import threading
import time
from pathlib import Path

import pytest

from otel_desk_receiver.app import app_parts
from otel_desk_receiver.config import Settings
from otel_desk_receiver.errors import DeskError
from otel_desk_receiver.runtime.health import HealthState
from tests.harness.apps import apps_settings, app_of


class Quiet:
    def http_request(self, *args) -> None:
        pass


def test_each_apps_client_paces_by_its_own_budget(make_desk_emulator):
    desks = [make_desk_emulator(), make_desk_emulator()]
    settings = apps_settings([app_of(desks[0], app_id="slow", max_rps=2), app_of(desks[1], app_id="fast")],
                             Path("unused.json"), max_rps=1000)
    waits: dict[str, list[float]] = {"slow": [], "fast": []}
    clients = {}
    for app in settings.desk_apps:
        clients[app.label] = app_parts.build_desk_client(
            app, threading.Event(), app_parts.build_desk_clock(settings, time.time_ns), HealthState(30.0), Quiet(),
            monotonic=time.monotonic, sleep=waits[app.label].append)
    try:
        for _ in range(4):  # the two apps' requests interleaved
            for client in clients.values():
                client.list_bots()
    finally:
        for client in clients.values():
            client.close()
    assert sum(waits["slow"]) >= 1.0  # about half a second between its requests
    assert sum(waits["fast"]) < 0.05  # never held by the slow app's pace


def test_an_accepted_answer_clears_the_apps_refusal(make_desk_emulator):
    desk = make_desk_emulator()
    settings = apps_settings([app_of(desk, app_id="eu")], Path("unused.json"))
    accepted = []
    client = app_parts.build_desk_client(settings.desk_apps[0], threading.Event(),
                                         app_parts.build_desk_clock(settings, time.time_ns), HealthState(30.0),
                                         Quiet(), monotonic=time.monotonic, accepted=lambda: accepted.append(1))
    try:
        client.list_bots()
    finally:
        client.close()
    assert accepted == [1]


def test_an_apps_budget_line_names_the_setting_it_came_from(make_desk_emulator, caplog):
    desks = [make_desk_emulator(), make_desk_emulator()]
    settings = apps_settings([app_of(desks[0], app_id="eu"), app_of(desks[1], app_id="us", max_rps=0.5)],
                             Path("unused.json"))
    assert [app_parts.rate_setting(settings, app) for app in settings.desk_apps] == ["apps[0].max_rps",
                                                                                      "apps[1].max_rps"]
    single = Settings(api_url=desks[0].url, api_token="t", state_path=Path("unused.json"))
    assert app_parts.rate_setting(single, single.desk_apps[0]) == "DESK_MAX_RPS"


def test_one_apps_retry_after_holds_its_own_requests_only(make_desk_emulator):
    """Desk's short Retry-After holds every request of the client it answered (desk/throttle.py): that app's
    client, never another app's."""
    desks = {"limited": make_desk_emulator(), "other": make_desk_emulator()}
    desks["limited"].faults.fail_next(1, status=429, retry_after=0.5)
    settings = apps_settings([app_of(desk, app_id=label) for label, desk in desks.items()], Path("unused.json"))
    waits: dict[str, list[float]] = {label: [] for label in desks}
    clients = {app.label: app_parts.build_desk_client(
        app, threading.Event(), app_parts.build_desk_clock(settings, time.time_ns), HealthState(30.0), Quiet(),
        monotonic=time.monotonic, sleep=waits[app.label].append) for app in settings.desk_apps}
    try:
        for label in ("limited", "other", "other"):
            clients[label].list_bots()
    finally:
        for client in clients.values():
            client.close()
    assert sum(waits["limited"]) > 0.4 and sum(waits["other"]) < 0.05, waits


def test_an_apps_unreadable_bot_names_the_setting_it_came_from(make_desk_emulator, otlp_sink, otlp_env, state_path,
                                                               caplog):
    # A bot id of an item's bot_ids that Desk cannot read: the line names that item's key, not DESK_BOT_IDS
    # (which is refused beside an apps file).
    from otel_desk_receiver.app import Receiver
    otlp_env(otlp_sink, "http/protobuf")
    desks = [make_desk_emulator(), make_desk_emulator()]
    settings = apps_settings([app_of(desks[0], app_id="eu"), app_of(desks[1], app_id="us", bot_ids=[999])],
                             state_path)
    receiver = Receiver(settings)
    try:
        receiver.run_once()
    finally:
        receiver.close()
    [line] = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert line.startswith("app us: bot 999 from apps[1].bot_ids cannot be read: "), line


class Redirecting(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(302)
        self.send_header("Location", "https://elsewhere.example/platform/v3/bots")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


def test_a_redirect_names_the_setting_the_apps_url_came_from(make_desk_emulator):
    # Desk's URL redirected: the line says which URL to set, apps[i].api_url with an apps file (DESK_API_URL is
    # refused beside one), DESK_API_URL without.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    moved = f"http://127.0.0.1:{server.server_address[1]}"
    settings = apps_settings([app_of(make_desk_emulator(), app_id="eu"), {"api_url": moved, "api_token": "t"}],
                             Path("unused.json"))
    single = Settings(api_url=moved, api_token="t", state_path=Path("unused.json"))
    said = []
    try:
        for app in (settings.desk_apps[1], single.desk_apps[0]):
            client = app_parts.build_desk_client(app, threading.Event(),
                                                 app_parts.build_desk_clock(settings, time.time_ns),
                                                 HealthState(30.0), Quiet(), monotonic=time.monotonic)
            with pytest.raises(DeskError) as caught:
                client.list_bots()
            client.close()
            said.append(str(caught.value))
    finally:
        server.shutdown()
        server.server_close()
    assert said[0].endswith("redirect to elsewhere.example not followed (it would carry the token); set "
                            "apps[1].api_url to the final URL"), said
    assert said[1].endswith("set DESK_API_URL to the final URL"), said
