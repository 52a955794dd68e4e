"""DeskClock: Desk's now as the receiver can know it, from the HTTP Date header of Desk's answers.

Why: createdAt is written by Desk's clock, so an entry's age (settling SENT by age, the trailing window,
the retention edge) only means something against Desk's clock. A receiver whose clock runs 10 minutes
ahead would otherwise see a SENT entry of 30 s as 10 minutes old, settle it by age at once and never send
its ERROR; one running behind would hold fresh entries as if dated in the future.

How: every answer carries Date (RFC 9110, section 6.6.1: the origin server's clock, whole seconds). Desk
stamped it between the moment the request left and the moment its answer arrived, so at that time
Desk's clock minus the receiver's lay between ``date - received`` and ``date + 1 s - sent``. The offset
kept is the smallest that agrees with this: 0 while the receiver's clock fits in it (clocks in step are
never corrected, whatever Date's one-second resolution), else the nearer end. It follows the latest
answer carrying Date; none seen (a proxy that strips it): the receiver's own clock, as before.
"""

import logging
import threading
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from otel_desk_receiver.units import NS_PER_S

log = logging.getLogger(__name__)


class DeskClock:
    """``now_ns()``: the receiver's clock corrected by the least that Desk's Date headers prove it wrong.

    Says so once at WARNING when the two clocks differ by more than ``warn_over_s`` (DESK_SETTLE_GRACE: past
    it, settling by the receiver's own clock would go wrong), and once at INFO when they agree again.
    """

    def __init__(self, clock_ns: Callable[[], int], warn_over_s: float):
        self._clock_ns = clock_ns
        self._warn_over_ns = int(warn_over_s * NS_PER_S)
        self._offset_ns = 0
        self._warned = False
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        return self._clock_ns() + self._offset_ns

    @property
    def offset_s(self) -> float:
        """Desk's clock minus the receiver's, in seconds (0 while they agree)."""
        return self._offset_ns / NS_PER_S

    def observe(self, date_header: str | None, duration_s: float) -> None:
        """An answer just arrived carrying ``date_header`` (None: no Date), ``duration_s`` after its request left."""
        date_ns = http_date_ns(date_header)
        if date_ns is None:
            return
        received_ns = self._clock_ns()
        sent_ns = received_ns - int(max(0.0, duration_s) * NS_PER_S)
        lowest, highest = date_ns - received_ns, date_ns + NS_PER_S - sent_ns
        offset_ns = lowest if lowest > 0 else highest if highest < 0 else 0
        with self._lock:
            self._offset_ns = offset_ns
            off = abs(offset_ns) > self._warn_over_ns
            if off == self._warned:
                return
            self._warned = off
        if off:
            side = "ahead of" if offset_ns < 0 else "behind"
            log.warning("this host's clock is %.0f s %s Desk's (the Date of its answers), more than "
                        "DESK_SETTLE_GRACE (%g s): entry ages, settling by age and the trailing window follow "
                        "Desk's clock; set the host's clock right (NTP)", abs(offset_ns) / NS_PER_S, side,
                        self._warn_over_ns / NS_PER_S)
        else:
            log.info("this host's clock agrees with Desk's again (within DESK_SETTLE_GRACE)")


def http_date_ns(value: str | None) -> int | None:
    """An HTTP date (IMF-fixdate or the obsolete forms) as nanoseconds since the epoch; None if unusable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # "-0000": RFC 5322's "no zone information"; HTTP dates are GMT
        return None
    return int(moment.timestamp()) * NS_PER_S
