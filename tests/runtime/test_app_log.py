"""runtime/app_log.py: lines logged inside an app's context, on its loop's thread or on its bots' turn threads,
name the app; others do not."""

import logging
import threading

from otel_desk_receiver.pipeline.cycle import BotCycleResult
from otel_desk_receiver.runtime import app_log
from otel_desk_receiver.runtime.turns import Turns

log = logging.getLogger("otel_desk_receiver.test_app_log")


def test_lines_in_an_apps_context_and_its_turns_name_it(caplog):
    app_log.install()
    app_log.install()  # once per process, however often asked
    caplog.set_level(logging.INFO)

    def turn() -> BotCycleResult:
        log.info("bot %d read", 7)
        return BotCycleResult()
    with app_log.about("app eu-100%"):
        log.info("watching %d bot(s)", 2)
        turns = Turns(2)
        turns.start(7, turn)
        turns.close()
    log.info("stopped; %s", "state saved")
    assert caplog.messages == ["app eu-100%: watching 2 bot(s)", "app eu-100%: bot 7 read", "stopped; state saved"]


def test_without_an_app_nothing_changes(caplog):
    app_log.install()
    caplog.set_level(logging.INFO)
    with app_log.about(None):
        log.info("100% read")
    assert caplog.messages == ["100% read"]


def test_a_thread_started_in_this_context_names_the_app_and_another_does_not(caplog):
    app_log.install()
    caplog.set_level(logging.INFO)
    with app_log.about("app eu"):
        named = threading.Thread(target=app_log.in_this_context(log.info), args=("elected %s", "a"))
        plain = threading.Thread(target=log.info, args=("spread %s", "a"))
    for thread in (named, plain):
        thread.start()
        thread.join()
    assert caplog.messages == ["app eu: elected a", "spread a"]
