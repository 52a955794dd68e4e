"""Compact per-bot webhook log storage: parallel arrays sorted by createdAt, bisected, never scanned
for unfiltered pages."""

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

# Codes 0..4 are fixed; unknown statuses get new codes so the emulator can serve anything a
# test sets (docs/desk-api.md#statuses: any other value is tolerated).
STATUSES = ["INITIALIZED", "SENT", "RECEIVED", "ERROR", "TIMEOUT"]
INITIALIZED, SENT, RECEIVED, ERROR, TIMEOUT = range(5)
ALWAYS = -(2**62)  # a final_us that is always in the past: the status is fixed


class StatusTable:
    """Status name <-> small integer code, so each entry stores one byte for its status."""

    def __init__(self):
        self.names = list(STATUSES)
        self._codes = {name: code for code, name in enumerate(self.names)}

    def code(self, name: str) -> int:
        if name not in self._codes:
            if len(self.names) >= 127:
                raise ValueError("too many distinct statuses")
            self._codes[name] = len(self.names)
            self.names.append(name)
        return self._codes[name]

    def known(self, name: str) -> int | None:
        return self._codes.get(name)


class BotLog:
    """One bot's entries as parallel arrays ordered by (createdAt, id).

    Each entry carries a planned timeline instead of a mutable status: INITIALIZED before
    ``sent_us``, SENT before ``final_us``, then ``code``. The status at any clock reading is
    therefore computed lazily, and advancing the virtual clock needs no background work
    (docs/desk-api.md#statuses: entries most likely change status in place).
    """

    def __init__(self):
        self.created = array("q")
        self.ids = array("q")
        self.sent = array("q")
        self.final = array("q")
        self.code = array("b")
        self.ids_sorted = True  # ids ascend with createdAt: id order is created order
        self.overrides: dict[int, dict] = {}  # entry id -> webhookUrl/extra set by a test
        # (when, the URL before) of each change of the bot's webhookUrl, oldest first: an entry keeps the URL its
        # event was posted to (docs/desk-api.md#webhook-logs: webhookUrl is where the event went).
        self.url_changes: list[tuple[int, str | None]] = []

    def __len__(self) -> int:
        return len(self.ids)

    def webhook_url_at(self, created_us: int, current: str | None) -> str | None:
        """The bot's webhookUrl when an entry created at ``created_us`` was posted (``current``: the URL now)."""
        for changed_us, before in self.url_changes:
            if created_us < changed_us:
                return before
        return current

    def append(self, entry_id: int, created_us: int, sent_us: int, final_us: int, code: int) -> int:
        """Insert one entry keeping the order; appends in O(1) when it is the newest."""
        newest = not self.created or created_us >= self.created[-1]
        pos = len(self.ids) if newest else bisect_right(self.created, created_us)
        for column, value in zip(self._columns(), (created_us, entry_id, sent_us, final_us, code)):
            column.insert(pos, value)
        self._check_order(pos)
        return pos

    def extend(self, ids: Sequence[int], created: Sequence[int], sent: Sequence[int],
               final: Sequence[int], codes: Sequence[int]) -> None:
        """Bulk insert, ids ascending with created; O(n) when the block is newer than the rest."""
        if not ids:
            return
        if self.created and created[0] < self.created[-1]:
            self._merge(ids, created, sent, final, codes)
            return
        last_id = self.ids[-1] if self.ids else None
        for column, values in zip(self._columns(), (created, ids, sent, final, codes)):
            column.extend(values)
        if last_id is not None and ids[0] < last_id:
            self.ids_sorted = False

    def _merge(self, ids, created, sent, final, codes) -> None:
        rows = list(zip(self.created, self.ids, self.sent, self.final, self.code))
        rows = sorted(rows + list(zip(created, ids, sent, final, codes)))
        for column, values in zip(self._columns(), zip(*rows)):
            del column[:]
            column.extend(values)
        self.ids_sorted = all(a < b for a, b in zip(self.ids, self.ids[1:]))

    def _columns(self):
        return self.created, self.ids, self.sent, self.final, self.code

    def _check_order(self, pos: int) -> None:
        ids = self.ids
        if (pos > 0 and ids[pos - 1] > ids[pos]) or (pos + 1 < len(ids) and ids[pos] > ids[pos + 1]):
            self.ids_sorted = False

    def remove(self, i: int) -> None:
        self.overrides.pop(self.ids[i], None)
        for column in self._columns():
            del column[i]

    def index_of(self, entry_id: int) -> int:
        if self.ids_sorted:
            pos = bisect_left(self.ids, entry_id)
            if pos < len(self.ids) and self.ids[pos] == entry_id:
                return pos
            raise KeyError(entry_id)
        try:
            return self.ids.index(entry_id)
        except ValueError:
            raise KeyError(entry_id) from None

    def status_code(self, i: int, now_us: int) -> int:
        if now_us >= self.final[i]:
            return self.code[i]
        return SENT if now_us >= self.sent[i] else INITIALIZED

    def fix_status(self, i: int, code: int) -> None:
        self.final[i] = ALWAYS
        self.code[i] = code

    def select(self, lo_us: int, hi_us: int, now_us: int, codes: set[int] | None,
               order: str) -> "RangeSelection | ListSelection":
        """Entries with lo_us <= createdAt < hi_us (and a status in ``codes``), in ``order``."""
        lo = bisect_left(self.created, lo_us)
        hi = max(lo, bisect_left(self.created, hi_us))
        by_id = order.lstrip("-") == "id"
        if codes is None and (self.ids_sorted or not by_id):
            return RangeSelection(lo, hi, descending=order.startswith("-"))
        indices: Iterable[int] = range(lo, hi)
        if codes is not None:
            indices = [i for i in indices if self.status_code(i, now_us) in codes]
        indices = list(indices)
        if by_id and not self.ids_sorted:
            indices.sort(key=self.ids.__getitem__)
        if order.startswith("-"):
            indices.reverse()
        return ListSelection(indices)


class RangeSelection:
    """A contiguous index range: count and any page without materialising the range."""

    def __init__(self, lo: int, hi: int, descending: bool):
        self.lo, self.hi, self.descending = lo, hi, descending

    @property
    def count(self) -> int:
        return self.hi - self.lo

    def page(self, offset: int, limit: int) -> range:
        if offset >= self.count:
            return range(0)
        if self.descending:
            top = self.hi - 1 - offset
            return range(top, max(self.lo, top - limit + 1) - 1, -1)
        start = self.lo + offset
        return range(start, min(self.hi, start + limit))


class ListSelection:
    """An explicit index list, for status filters and out-of-order ids (O(range) to build)."""

    def __init__(self, indices: list[int]):
        self.indices = indices

    @property
    def count(self) -> int:
        return len(self.indices)

    def page(self, offset: int, limit: int) -> list[int]:
        return self.indices[offset:offset + limit]
