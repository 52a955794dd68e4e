"""Entry records to the OTLP endpoint: encoded (log_encoding.py), sent (sender.py), the answer acted on."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from opentelemetry.sdk.resources import Resource

from otel_desk_receiver import __version__, names
from otel_desk_receiver.pipeline.records import EntryRecord
from otel_desk_receiver.otlp.answer import REASON_TOO_OLD, Answer, Kind
from otel_desk_receiver.otlp.delivery import Delivery, Rejection, Waiting, split_and_send
from otel_desk_receiver.otlp.log_encoding import LogEncoder
from otel_desk_receiver.otlp.sender import Sender, build_sender
from otel_desk_receiver.config.kinds import setting_duration
from otel_desk_receiver.units import NS_PER_S

__all__ = ["Delivery", "EntryExporter", "NullEntryExporter", "build_log_exporter"]

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 512  # the batch size of the throughput measured in docs/testing.md#opentelemetry-sdk-pitfalls


def build_log_exporter(environ: Mapping[str, str] | None = None, *, timeout_s: float | None = None) -> Sender:
    """The gRPC or HTTP sender of log requests; endpoint, headers, timeout, compression and TLS come from
    OTEL_* (``environ``, default os.environ) as the specification says (target.py). Opens no connection yet.

    Its answers tell a redirect, a non-OTLP 200 or a partial success apart from an acceptance (answer.py).
    ``timeout_s`` overrides the export timeout (``check`` answers within seconds)."""
    return build_sender("logs", environ, timeout_s)


class EntryExporter:
    """Hands entry records straight to an OTLP log exporter and reports what the endpoint did with each.

    ``deliver`` sends batches of at most ``batch_size`` records in order and returns a Delivery: every
    record either accepted or rejected for itself, or a failure at the first batch the endpoint would
    not take (earlier batches of the call were handled, and are sent again if the caller retries).
    A batch refused for what it carries (400, 413, partial success) is split in halves until each
    refused record stands alone (delivery.py). With ``hold_when_down``, after a failure the endpoint
    counts as down: later calls fail at once, without a request, until ``new_cycle()``, so a dead
    endpoint costs one export's retries per cycle, not one per bot. No BatchLogRecordProcessor: its queue silently
    dropped half of a large backlog (docs/testing.md#opentelemetry-sdk-pitfalls). With ``max_age_s`` (the
    backend's age limit, DESK_EXPORT_MAX_AGE), records older than it by ``clock_ns`` are rejected
    (REASON_TOO_OLD) without being sent: the backend would refuse them, or drop them in silence. Deliveries
    from several threads (the poller's turns) go one at a time.
    """

    def __init__(self, exporter: Sender, resource: Resource, *, batch_size: int = DEFAULT_BATCH_SIZE,
                 on_failure: Callable[[int], None] | None = None, hold_when_down: bool = False,
                 max_age_s: float = 0.0, clock_ns: Callable[[], int] = time.time_ns):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._exporter = exporter
        self._encoder = LogEncoder(resource, names.SCOPE_NAME, __version__)
        self._batch_size = batch_size
        self._on_failure = on_failure
        self._down: Answer | None = None
        self._hold_when_down = hold_when_down
        self._max_age_s, self._clock_ns = max_age_s, clock_ns
        self._lock = threading.Lock()
        self.waiting = Waiting()

    def export(self, records: Sequence[EntryRecord]) -> bool:
        """True only if the endpoint accepted every record."""
        delivery = self.deliver(records)
        return delivery.failure is None and not delivery.rejected

    def deliver(self, records: Sequence[EntryRecord]) -> Delivery:
        with self._lock:
            return self._deliver(records)

    def _deliver(self, records: Sequence[EntryRecord]) -> Delivery:
        if self._down is not None:
            self.waiting.add(len(records))
            return Delivery(failure=self._down)
        delivery = Delivery()
        records = self._too_old_rejected(records, delivery)
        for start in range(0, len(records), self._batch_size):
            batch = records[start:start + self._batch_size]
            before = len(delivery.accepted)
            split_and_send(batch, self._send, delivery)
            if delivery.failure is None and len(batch) > 1 and len(delivery.accepted) == before:
                self._unless_endpoint_refuses_everything(delivery, len(batch))
            if delivery.failure is not None:
                self._down = delivery.failure if self._hold_when_down else None
                self.waiting.add(len(records) - len(delivery.accepted) - len(delivery.rejected))
                if self._on_failure is not None:
                    self._on_failure(len(batch))
                break
        return delivery

    def _too_old_rejected(self, records: Sequence[EntryRecord], delivery: Delivery) -> Sequence[EntryRecord]:
        """Reject the records older than the backend's age limit (never sent); the others, to send."""
        if not self._max_age_s:
            return records
        oldest_ns = self._clock_ns() - int(self._max_age_s * NS_PER_S)
        detail = f"older than the backend's age limit (DESK_EXPORT_MAX_AGE={setting_duration(self._max_age_s)}), not sent"
        delivery.rejected.extend(Rejection(record, REASON_TOO_OLD, detail, sent=False)
                                 for record in records if record.timestamp_ns < oldest_ns)
        return [record for record in records if record.timestamp_ns >= oldest_ns]

    def _unless_endpoint_refuses_everything(self, delivery: Delivery, batch_len: int) -> None:
        """A batch whose every record was refused for itself: if the endpoint refuses an empty request
        too, the fault is the endpoint's (a proxy, a wrong path), not the records', so none is skipped."""
        probe = self._send([])
        if probe.kind in (Kind.REFUSED, Kind.TOO_LARGE):
            del delivery.rejected[-batch_len:]
            delivery.failure = Answer(Kind.FAILED, f"the endpoint refuses even an empty export request: {probe.reason}")

    @property
    def down(self) -> Answer | None:
        """Why the endpoint counts as down this cycle (None: it is not)."""
        return self._down

    def new_cycle(self) -> None:
        """Try the endpoint again on the next delivery."""
        self._down = None
        self.waiting = Waiting()

    def shutdown(self) -> None:
        self._exporter.close()

    def probe(self) -> Answer:
        """The endpoint's answer to an export request that carries no record (for `check`)."""
        return self._send([])

    def _send(self, records: Sequence[EntryRecord]) -> Answer:
        try:
            answer = self._exporter.send(self._encoder.encode(records))
        except Exception as exc:  # noqa: BLE001 - an endpoint failure is an answer, never a crash
            # The type only: an exception's text may quote the endpoint URL with its user info.
            return Answer(Kind.DOWN, f"the exporter raised {type(exc).__name__}")
        log.debug("OTLP log export of %d records: %s %s", len(records), answer.kind.value, answer.reason)
        return answer


class NullEntryExporter:
    """For OTEL_SDK_DISABLED=true, if the caller chooses it: accepts every record and sends nothing.

    Using it means entries count as delivered although they went nowhere; the caller decides
    whether that is what "SDK disabled" should mean.
    """

    down = None
    waiting = None

    def export(self, records: Sequence[EntryRecord]) -> bool:
        return True

    def deliver(self, records: Sequence[EntryRecord]) -> Delivery:
        return Delivery(accepted=list(records))

    def new_cycle(self) -> None:
        pass

    def shutdown(self) -> None:
        pass
