"""BotCursor: where a bot's reading stands, the value a cycle starts from and commits (saved by state/)."""

from dataclasses import dataclass, field


@dataclass
class BotCursor:
    """Where a bot's reading stands.

    Reads go through ``GET /bots/{id}/webhook_logs?order=id&start_date=window_start``: with ids that grow
    with time that listing only grows at its end, so an offset into it stays put while entries arrive.
    What breaks that (deletions, retention, ids committed late, rows repeated) is caught by re-reading
    the entry before each page (``anchor_id``) and by the trailing window: the offset never moves past
    an entry created less than the bot's settle horizon ago, so such entries are read again next cycle,
    and ``recent`` says which of them were already emitted.
    """

    window_start: str  # start_date sent to Desk (YYYY-MM-DD); offsets are positions in this window
    offset: int  # position of the first entry still to be read again: the oldest pending or recent one, or the end
    anchor_id: int | None  # id of the entry at offset - 1: re-read first to prove offsets did not shift
    last_id: int  # highest entry id read; older ids at or below it, neither pending nor recent, are done
    since_ns: int  # entries created before this instant are never emitted (the bot's starting point)
    newest_created_ns: int | None = None  # createdAt of the newest entry read (for the lag gauge)
    pending: dict[int, int] = field(default_factory=dict)  # entry id -> createdAt (ns), seen but not settled
    recent: dict[int, int] = field(default_factory=dict)  # entry id -> createdAt (ns), emitted, inside the trailing window
    trail_start_ns: int = 0  # start of the trailing window ``recent`` covers: older entries at or below last_id are done
    rejected_after_last: int = 0  # malformed rows without an id that follow the last_id row (counted already)
    # Counters (otlp/counter_export.py): per status, the entries whose records the OTLP endpoint accepted,
    # moved in the same commit as the offsets that delivered them, so they are never lost or doubled;
    # since when (the cumulative start time); and what the metrics endpoint last acknowledged (the base
    # of delta points), owned by the metrics loop: CursorStore.commit keeps it as it is.
    counted: dict[str, int] = field(default_factory=dict)
    counted_since_ns: int | None = None
    acked: dict[str, int] = field(default_factory=dict)
    acked_ns: int | None = None


def add_counts(counts: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    """``counts`` plus ``more``, a new dict (cursors are replaced, never changed in place)."""
    total = dict(counts)
    for status, n in more.items():
        total[status] = total.get(status, 0) + n
    return total
