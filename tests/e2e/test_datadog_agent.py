"""The receiver to Datadog's own OTLP intake: Datadog's test agent (PyPI ddapm-test-agent, in its own
virtualenv under .cache/, made by `make deps`) accepts OTLP over HTTP and gRPC and returns what it received at
/test/session/logs and /test/session/metrics on its OTLP HTTP port. With delta temporality, as the Datadog
example sets it, the log records and counters arrive as examples/datadog/README.md says."""

from collections import Counter
from pathlib import Path

import pytest
import requests

from otel_desk_receiver import names
from tests.harness.fixtures.otlp import TEST_TIMEOUT_MS
from tests.harness.paths import REPO
from tests.harness.ports import free_port
from tests.harness.process import ServerProcess
from tests.harness.receiver_process import ReceiverProcess, receiver_env

AGENT = REPO / ".cache" / "ddapm-test-agent" / "bin" / "ddapm-test-agent"
START_DEADLINE_S = 30.0
STATUSES = ("RECEIVED", "ERROR", "TIMEOUT", "RECEIVED", "RECEIVED")


class DatadogTestAgent(ServerProcess):
    """The test agent on loopback ports, answering its session API once started."""

    def __init__(self, run_dir: Path):
        assert AGENT.is_file(), f"{AGENT} missing: run `make deps` (Datadog's test agent in its own virtualenv)"
        self.http_port, self.grpc_port, apm_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        super().__init__("test agent", [str(AGENT), "--host", "127.0.0.1", "--port", str(apm_port),
                                        "--otlp-http-port", str(self.http_port), "--otlp-grpc-port",
                                        str(self.grpc_port)], run_dir / "ddapm-test-agent.log")
        self.wait_ready(self._answers, START_DEADLINE_S)

    def _answers(self) -> bool:
        try:
            return requests.get(self.url + "/test/session/logs", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def endpoint(self, protocol: str) -> str:
        return f"http://127.0.0.1:{self.grpc_port if protocol == 'grpc' else self.http_port}"

    def session(self, kind: str) -> list[dict]:
        return requests.get(f"{self.url}/test/session/{kind}", timeout=10).json()


@pytest.fixture
def datadog_agent(tmp_path):
    agent = DatadogTestAgent(tmp_path)
    yield agent
    agent.stop()


def value(any_value: dict):
    """An OTLP AnyValue as the test agent renders it (protobuf JSON)."""
    (kind, item), = any_value.items()
    return int(item) if kind == "int_value" else item


def attributes(items: list[dict]) -> dict:
    return {item["key"]: value(item["value"]) for item in items}


def log_records(agent: DatadogTestAgent) -> list[tuple[dict, dict]]:
    """(resource attributes, record) for every log record the agent received."""
    return [(attributes(rl["resource"]["attributes"]), record)
            for request in agent.session("logs") for rl in request["resource_logs"]
            for sl in rl["scope_logs"] for record in sl["log_records"]]


def metrics(agent: DatadogTestAgent, name: str) -> list[dict]:
    return [metric for request in agent.session("metrics") for rm in request["resource_metrics"]
            for sm in rm["scope_metrics"] for metric in sm["metrics"] if metric["name"] == name]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_records_and_delta_counters_arrive_as_the_datadog_readme_says(protocol, datadog_agent, make_desk_emulator,
                                                                      tmp_path):
    emulator = make_desk_emulator()
    bot = emulator.add_bot(name="order-helper")
    env = receiver_env(emulator, datadog_agent.endpoint(protocol), protocol, tmp_path / "state.json")
    env.update({"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta", "OTEL_EXPORTER_OTLP_TIMEOUT": TEST_TIMEOUT_MS,
                "OTEL_SERVICE_NAME": names.DEFAULT_SERVICE_NAME})
    first = ReceiverProcess.start(env, tmp_path, "--once")  # discovers the bot: its cursor starts now
    assert first.wait() == 0, first.output()[-3000:]
    emulator.add_entries(bot["id"], len(STATUSES), statuses=STATUSES)
    second = ReceiverProcess.start(env, tmp_path, "--once")
    assert second.wait() == 0, second.output()[-3000:]

    records = log_records(datadog_agent)
    assert Counter(attributes(r["attributes"])[names.ATTR_WEBHOOK_LOG_STATUS] for _, r in records) == Counter(STATUSES)
    for resource, record in records:
        # service.name becomes Datadog's `service` tag; attributes are searchable as @sendbird.desk...
        assert resource["service.name"] == "otel-desk-receiver"
        fields = attributes(record["attributes"])
        assert fields[names.ATTR_BOT_NAME] == "order-helper" and fields[names.ATTR_BOT_ID] == bot["id"]
        assert fields[names.ATTR_LOG_RECORD_UID].endswith(f":{bot['id']}:{fields[names.ATTR_WEBHOOK_LOG_ID]}")
        assert record["event_name"] == names.EVENT_NAME
        status = fields[names.ATTR_WEBHOOK_LOG_STATUS]
        assert record["severity_text"] == ("INFO" if status == "RECEIVED" else "ERROR")

    counted = Counter()
    for metric in metrics(datadog_agent, names.WEBHOOK_LOGS.name):
        # Datadog's intake takes only delta counters: each point is what happened since the last one.
        assert metric["sum"]["aggregation_temporality"] == "AGGREGATION_TEMPORALITY_DELTA"
        assert metric["sum"]["is_monotonic"] and metric["unit"] == names.WEBHOOK_LOGS.unit
        for point in metric["sum"]["data_points"]:
            tags = attributes(point["attributes"])
            assert tags[names.ATTR_BOT_NAME] == "order-helper"
            counted[tags[names.ATTR_WEBHOOK_LOG_STATUS]] += int(point.get("as_int", 0))
    assert +counted == Counter(STATUSES)  # over both runs: nothing counted twice across the restart
    assert metrics(datadog_agent, names.UNREAD_ERROR.name), "the unread-error gauge keeps its OpenTelemetry name"
