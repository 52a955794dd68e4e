"""OpenSLO sources for the generator's tests: the shipped one, and the same with overrides added."""

import yaml

from otel_desk_receiver.devkit.slo.generate import SOURCE
from otel_desk_receiver.devkit.slo.source import SloSource, read
from tests.harness.paths import REPO


def shipped_documents() -> list[dict]:
    return list(yaml.safe_load_all((REPO / SOURCE).read_text()))


def override(name: str, target: float, selector: str) -> dict:
    return {"apiVersion": "openslo/v1", "kind": "SLO",
            "metadata": {"name": name, "annotations": {"otel-desk-receiver/selector": selector}},
            "spec": {"service": "sendbird-desk-bots", "indicatorRef": "bot-webhook-calls",
                     "timeWindow": [{"duration": "28d", "isRolling": True}], "budgetingMethod": "Occurrences",
                     "objectives": [{"target": target}]}}


APP_B = override("app-b", 0.98, 'sendbird_app_id="APP-B"')
APP_B_BOT_12 = override("app-b-bot-12", 0.995, 'sendbird_app_id="APP-B",sendbird_desk_bot_id="12"')


def shipped() -> SloSource:
    return read(shipped_documents())


def with_overrides() -> SloSource:
    """The default (99 %), app B at 98 %, and app B's bot 12 at 99.5 % (listed before its app on purpose)."""
    return read(shipped_documents() + [APP_B, APP_B_BOT_12])
