"""The Prometheus endpoint (OTEL_METRICS_EXPORTER=prometheus): /metrics served for a scrape.

The SDK's PrometheusMetricReader (opentelemetry-exporter-prometheus) turns the meter's instruments into
Prometheus series. The settled-entry counters do not go through the meter (otlp/counter_export.py exports
them from the committed totals), so a collector of our own serves the same totals here: a scrape shows
exactly what the state says was delivered, carried on across restarts.

Names as this exporter gives them differ from the OTLP-to-Prometheus translation in two ways that rules
and dashboards must allow for: no ``_ratio`` suffix on unit-"1" gauges, and ``otel_scope_*`` labels.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIServer

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from otel_desk_receiver import __version__, names
from otel_desk_receiver.errors import ConfigError
from otel_desk_receiver.otlp.counter_export import KNOWN_STATUSES, CounterSource

# (app label, bot id, bot name, status, total): the committed settled-entry totals.
Totals = Callable[[], Iterable[tuple[str, int, str, str, float]]]
_SCOPE_LABELS = {"otel_scope_name": names.SCOPE_NAME, "otel_scope_version": __version__, "otel_scope_schema_url": ""}


class PrometheusEndpoint:
    """``reader`` goes into the MeterProvider; ``start()`` listens on (host, port), ``stop()`` closes it.

    A registry of its own, not prometheus_client's global one: two receivers in one process (tests) do not
    collide, and /metrics holds the receiver's series only.
    """

    def __init__(self, host: str, port: int, totals: Totals | None = None):
        self.host, self.port = host, port
        self.registry = CollectorRegistry(auto_describe=True)
        self.reader = PrometheusMetricReader(registry=self.registry)
        if totals is not None:
            self.registry.register(_SettledTotals(totals))
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> PrometheusEndpoint:
        try:
            self._server, self._thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        except OSError as exc:
            raise ConfigError([f"OTEL_EXPORTER_PROMETHEUS_HOST/OTEL_EXPORTER_PROMETHEUS_PORT: cannot listen on "
                               f"{self.host}:{self.port} ({exc.strerror}); pick a free port"]) from None
        self.port = self._server.server_port
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _SettledTotals(Collector):
    """sendbird_desk_bot_webhook_logs_total from the committed totals, labelled like the SDK exporter's series."""

    def __init__(self, totals: Totals):
        self._totals = totals

    def collect(self):
        labels = [names.prometheus_label(a) for a in names.WEBHOOK_LOGS.attributes] + list(_SCOPE_LABELS)
        family = CounterMetricFamily(names.WEBHOOK_LOGS.prometheus_name.removesuffix("_total"),
                                     names.WEBHOOK_LOGS.description, labels=labels)
        for app, bot_id, bot_name, status, total in self._totals():
            values = {names.ATTR_APP_ID: app, names.ATTR_BOT_ID: str(bot_id), names.ATTR_BOT_NAME: bot_name,
                      names.ATTR_WEBHOOK_LOG_STATUS: status}
            family.add_metric([values[a] for a in names.WEBHOOK_LOGS.attributes] + list(_SCOPE_LABELS.values()), total)
        yield family

    def describe(self):
        return []


def committed_totals(sources: Iterable[CounterSource]) -> Totals:
    """The totals function over the apps of the process (otlp/counter_export.CounterSource, one per app): every
    known status of each watched bot with a cursor (0 until it counts, as otlp/counter_export.py exports them),
    then any other status counted. ``sources`` is read at each scrape, so a list that grows is followed."""

    def totals() -> Iterable[tuple[str, int, str, str, float]]:
        for source in list(sources):
            snapshot = source.cursors.snapshot()
            for bot_id, bot_name in source.bots():
                cursor = snapshot.get(bot_id)
                if cursor is None:
                    continue
                for status in (*KNOWN_STATUSES, *sorted(set(cursor.counted) - set(KNOWN_STATUSES))):
                    yield source.app, bot_id, bot_name, status, cursor.counted.get(status, 0)
    return totals
