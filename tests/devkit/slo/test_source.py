"""The OpenSLO source read into the bots' SLOs: the shipped one as docs/slo.md describes it, overrides ordered
most specific first, and every source the generators cannot use refused in one line naming what is wrong."""

import copy
from decimal import Decimal

import pytest

from otel_desk_receiver.devkit.slo.generate import SOURCE
from otel_desk_receiver.devkit.slo.source import SloSourceError, duration_s, load, read
from tests.devkit.slo.sources import APP_B, APP_B_BOT_12, override, shipped_documents, with_overrides
from tests.harness.paths import REPO


def test_the_shipped_source_is_99_percent_over_28_days_of_received_against_error_and_timeout():
    source = load(REPO / SOURCE)
    assert source.window == "28d" and [o.target for o in source.objectives] == [Decimal("0.99")]
    assert source.default.budget == Decimal("0.01") and source.overrides == ()
    assert source.indicator.good == ("RECEIVED",)
    assert source.indicator.bad == ("ERROR", "TIMEOUT")
    assert "SENT" not in source.indicator.total


def test_overrides_come_most_specific_first_and_the_default_last():
    source = with_overrides()
    assert [o.name for o in source.objectives] == ["app-b-bot-12", "app-b", "bot-webhook-calls"]
    assert source.objectives[0].selector == (("sendbird_app_id", "APP-B"), ("sendbird_desk_bot_id", "12"))
    assert source.default.selector == ()


def sli(documents):
    return next(doc for doc in documents if doc["kind"] == "SLI")


def default(documents):
    return next(doc for doc in documents if doc["kind"] == "SLO")


def edited(change):
    documents = copy.deepcopy(shipped_documents())
    change(documents)
    return documents


BAD_QUERY = 'sendbird_desk_bot_webhook_logs_total{sendbird_desk_webhook_log_status=~"ERROR|SENT"}'


@pytest.mark.parametrize(("change", "message"), [
    pytest.param(lambda d: d.append(copy.deepcopy(sli(d))), "one SLI expected, found 2", id="two-slis"),
    pytest.param(lambda d: d.append({"apiVersion": "openslo/v2", "kind": "SLO"}),
                 "document 3: not an openslo/v1 SLI or SLO", id="other-version"),
    pytest.param(lambda d: sli(d)["spec"]["ratioMetric"]["bad"]["metricSource"]["spec"].update(query=BAD_QUERY),
                 "['SENT'] not terminal statuses", id="sent-counted-bad"),
    pytest.param(lambda d: sli(d)["spec"]["ratioMetric"]["total"]["metricSource"]["spec"].update(query="up"),
                 "spec.ratioMetric.total: a Prometheus query sendbird_desk_bot_webhook_logs_total", id="other-metric"),
    pytest.param(lambda d: sli(d)["spec"]["ratioMetric"].update(good=sli(d)["spec"]["ratioMetric"]["bad"]),
                 "counter: true with bad and total expected", id="good-and-bad"),
    pytest.param(lambda d: default(d)["spec"].update(budgetingMethod="Timeslices"),
                 "SLO bot-webhook-calls: spec.budgetingMethod must be Occurrences", id="timeslices"),
    pytest.param(lambda d: default(d)["spec"]["objectives"][0].update(target=99),
                 "target must be between 0 and 1 (exclusive), got 99", id="target-in-percent"),
    pytest.param(lambda d: default(d)["spec"]["timeWindow"][0].update(duration="4w"),
                 "not a duration (a whole number of m, h or d): '4w'", id="weeks"),
    pytest.param(lambda d: default(d)["spec"].pop("indicatorRef"), "SLO bot-webhook-calls: spec.indicatorRef missing",
                 id="no-indicator"),
    pytest.param(lambda d: d.append(override("second-default", 0.9, 'sendbird_app_id="A"')) or
                 d[-1]["metadata"].pop("annotations"), "one SLO without a selector (the default) expected, found 2",
                 id="two-defaults"),
    pytest.param(lambda d: d.append(override("bot-only", 0.9, 'sendbird_desk_bot_id="12"')),
                 "SLO bot-only: otel-desk-receiver/selector: sendbird_app_id=", id="bot-without-its-app"),
    pytest.param(lambda d: d.append(override("by-name", 0.9, 'sendbird_app_id="A",sendbird_desk_bot_name="faq"')),
                 "SLO by-name: otel-desk-receiver/selector", id="other-label"),
    pytest.param(lambda d: d.append(override("bot-name", 0.9, 'sendbird_app_id="A",sendbird_desk_bot_id="faq"')),
                 "a bot id is a whole number, got 'faq'", id="bot-id-not-a-number"),
    pytest.param(lambda d: d.extend([APP_B, override("again", 0.9, 'sendbird_app_id="APP-B"')]),
                 "SLO again: selects what SLO app-b selects", id="same-selector-twice"),
    pytest.param(lambda d: d.append(APP_B_BOT_12) or d[-1].__setitem__("spec", {
        **APP_B_BOT_12["spec"], "timeWindow": [{"duration": "7d", "isRolling": True}]}),
                 "every SLO shares one time window", id="other-window"),
])
def test_a_source_the_generators_cannot_use_is_refused_in_one_line(change, message):
    with pytest.raises(SloSourceError) as raised:
        read(edited(change))
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_load_names_the_file(tmp_path):
    path = tmp_path / "bots.openslo.yaml"
    path.write_text("kind: [unclosed\n")
    with pytest.raises(SloSourceError, match=rf"^{path}: not YAML: "):
        load(path)


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300), ("6h", 21_600), ("28d", 2_419_200)])
def test_durations(text, seconds):
    assert duration_s(text) == seconds
