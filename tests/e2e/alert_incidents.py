"""The incidents of the alert test, one per shipped alert rule, each scripted through the Desk emulator's
control surface, the OTLP sink or the receiver process, and each on a pipeline of its own (its own Prometheus:
no incident's alert can come from another's). Two receivers in one Prometheus: tests/e2e/test_alerts_two_receivers.py. Durations here (``detect_s``) are in the
shipped rules' time; a scaled pipeline scales them with its rules."""

from tests.e2e.alert_scenario import BOT_LIST_INTERVAL_S, Expected, Incident, Pipeline

STEADY = {"steady": {}}


def _clear_faults(p: Pipeline) -> None:
    p.control.call("DELETE", "/faults")


def _set_unread_flag(value: bool):
    def set_flag(p: Pipeline) -> None:
        p.control.call("PATCH", f"/bots/{p.bots['flagged']}", {"is_unread_error": value})
    return set_flag


def _answers_404(name: str):
    """Deleted in Desk (or mistyped) while the receiver still watches it: the bot's webhook logs answer 404."""
    def answer_404(p: Pipeline) -> None:
        p.control.call("POST", "/faults", {"fail_next": {"n": 1_000_000, "status": 404,
                                                         "path_contains": f"/bots/{p.bots[name]}/webhook_logs"}})
    return answer_404


def _otlp_down(p: Pipeline) -> None:
    p.sink.set_down(True)
    p.control.entries(p.bots["steady"], 3, "RECEIVED")  # entries read while the endpoint is down


def _otlp_up(p: Pipeline) -> None:
    p.sink.set_down(False)
    # One entry pending for the bot's timeoutSeconds plus DESK_SETTLE_GRACE (the dashboard's pending panel:
    # the gauge counts what was delivered and committed, so not while the endpoint is down).
    p.control.entries(p.bots["steady"], 1, "SENT")


def _slow_desk_with_backlog(p: Pipeline) -> None:
    """Three hours of entries, one every 5 s, and Desk taking 4 s a request: with 5-entry pages the receiver
    reads about 4 s of history a second, so its lag stays above 15 minutes for about 40 minutes. (The lag
    threshold is the age of Desk's entries and is not scaled: the entries are as old on a scaled pipeline.)"""
    p.control.entries(p.bots["backlog"], 2160, "RECEIVED", spacing_s=5)
    p.control.call("POST", "/faults", {"configure": {"latency_s": 4}})


def _desk_fast_again(p: Pipeline) -> None:
    p.control.call("POST", "/faults", {"configure": {"latency_s": 0}})
    p.control.entries(p.bots["backlog"], 3, "RECEIVED")  # the bot is busy: new entries keep arriving


INCIDENTS = (
    # On the shipped file unchanged (scaled=False): the window lengths themselves matter here. 8 calls, below
    # the ratio rule's 10-call floor; but the bot's series are seconds old, and Prometheus's increase()
    # extrapolates a young series (0 then 6, a second apart, reads as 12): the ratio rule may be pending for
    # a few seconds, never firing (its `for:` is 10 minutes), and the burst resolves only once the real
    # 5-minute window has slid past the last timeout.
    Incident("timeout-burst", {"burst": {}}, (Expected("DeskBotWebhookTimeoutBurst", bot="burst"),),
             start=lambda p: p.control.entries(p.bots["burst"], 6, "TIMEOUT"),
             allowed=frozenset({"DeskBotWebhookFailureRatioHigh"}), scaled=False),
    # 5 of 12 calls failed; the bot recovers with 40 answered calls (5 of 52).
    Incident("error-ratio", {"ratio": {}}, (Expected("DeskBotWebhookFailureRatioHigh", bot="ratio"),),
             start=lambda p: p.control.entries(p.bots["ratio"], 10, "ERROR", "RECEIVED"),
             stop=lambda p: p.control.entries(p.bots["ratio"], 40, "RECEIVED")),
    # The flag goes both ways through the bot list, re-read every 10 minutes (scaled: the receiver's
    # DESK_BOT_LIST_INTERVAL with the rules).
    Incident("unread-flag", {"flagged": {}}, (Expected("DeskBotUnreadError", bot="flagged"),),
             start=_set_unread_flag(True), stop=_set_unread_flag(False), detect_s=BOT_LIST_INTERVAL_S),
    # Both ways a bot is unreadable: "never" answers 404 from the start (never read), "gone" once it was
    # read (its last successful read grows older than 5 minutes).
    Incident("bot-unreadable", {**STEADY, "never": {}, "gone": {}},
             (Expected("DeskBotUnreadable", bot="never", from_start=True), Expected("DeskBotUnreadable", bot="gone")),
             prepare=_answers_404("never"), warm_up=("steady", "gone"), start=_answers_404("gone"),
             stop=_clear_faults, detect_s=300),
    # Reads fail; the rule waits until no bot was read for 2 minutes.
    Incident("desk-down", STEADY, (Expected("DeskApiUnreachable", receiver=True),),
             start=lambda p: p.control.call("POST", "/faults", {"drop_next": {"n": 1_000_000}}), stop=_clear_faults,
             detect_s=120),
    Incident("rate-limited", STEADY, (Expected("DeskApiRateLimited", receiver=True),),
             start=lambda p: p.control.call("POST", "/faults", {"fail_next": {"n": 1_000_000, "status": 429,
                                                                              "retry_after": 2}}),
             stop=_clear_faults),
    # An entry settled by age on a quiet bot is delivered when its lag can be large: DeskReceiverLagging may
    # then be pending for under 5 minutes (deliveries in the last 5), never firing (its `for:` is 15).
    Incident("otlp-down", STEADY, (Expected("DeskReceiverExportFailing", signal="logs", receiver=True),
                                   Expected("DeskReceiverExportFailing", signal="metrics", receiver=True)),
             start=_otlp_down, stop=_otlp_up, allowed=frozenset({"DeskReceiverLagging"})),
    # kill -9; the incident ends when it is started again.
    Incident("receiver-down", STEADY, (Expected("DeskReceiverDown", receiver=True),),
             start=lambda p: p.receiver.kill(), stop=lambda p: p.start_receiver()),
    # Bots watched, nothing to deliver from the start; it ends with the bot's first entries.
    Incident("nothing-delivered", {"quiet": {}}, (Expected("DeskReceiverNotExporting"),), warm_up=(),
             stop=lambda p: p.control.entries(p.bots["quiet"], 2, "RECEIVED")),
    Incident("lagging", {"backlog": {}}, (Expected("DeskReceiverLagging", bot="backlog"),), warm_up=(),
             prepare=_slow_desk_with_backlog, stop=_desk_fast_again,
             receiver_env={"DESK_BACKFILL": "4h", "DESK_PAGE_SIZE": "5"}),
)
