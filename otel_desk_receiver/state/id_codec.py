"""A compact text form for a bot's remembered ids (the trailing window's ``recent``): pure.

Sorted ids are written as base-36 gaps joined by ``.``, a run of equal gaps as ``gap*count``: a burst
of consecutive ids costs a few bytes in all, ids interleaved with other bots' about 4 bytes each.
Grouped by the second of their createdAt, each group saved with the newest createdAt in it; loaded,
every id of a group takes that value, an upper bound, so the window keeps it at least as long as the
exact value would (an id kept a little longer is never sent twice; one dropped is never taken for late).
"""

from collections.abc import Mapping

from otel_desk_receiver.units import NS_PER_S

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(n: int) -> str:
    if n == 0:
        return "0"
    out = []
    while n:
        n, digit = divmod(n, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


def encode_ids(ids: list[int]) -> str:
    """Ascending non-negative ids as gaps (the first from 0), runs of equal gaps as ``gap*count``."""
    tokens, previous, index = [], 0, 0
    while index < len(ids):
        gap = ids[index] - previous
        run = 1
        while index + run < len(ids) and ids[index + run] - ids[index + run - 1] == gap:
            run += 1
        tokens.append(_b36(gap) if run == 1 else f"{_b36(gap)}*{_b36(run)}")
        previous = ids[index + run - 1]
        index += run
    return ".".join(tokens)


def decode_ids(text: str) -> list[int]:
    """The ids ``encode_ids`` wrote; ValueError on anything else."""
    ids, value = [], 0
    for token in text.split(".") if text else []:
        gap, _, run = token.partition("*")
        step, count = int(gap, 36), int(run, 36) if run else 1
        if step < 0 or count < 1 or (step == 0 and ids):
            raise ValueError(token)
        for _ in range(count):
            value += step
            ids.append(value)
    return ids


def encode_recent(recent: Mapping[int, int]) -> list[list]:
    """``[[newest createdAt in the group (ns), ids], ...]``, one group per second of createdAt, oldest first."""
    groups: dict[int, list[int]] = {}
    newest: dict[int, int] = {}
    for entry_id, created_ns in recent.items():
        second = created_ns // NS_PER_S
        groups.setdefault(second, []).append(entry_id)
        newest[second] = max(newest.get(second, created_ns), created_ns)
    return [[newest[second], encode_ids(sorted(groups[second]))] for second in sorted(groups)]


def decode_recent(groups) -> dict[int, int]:
    """entry id -> createdAt (the group's newest); ValueError on a malformed group."""
    recent = {}
    for group in groups:
        if not (isinstance(group, list) and len(group) == 2 and isinstance(group[0], int)
                and not isinstance(group[0], bool) and isinstance(group[1], str)):
            raise ValueError(group)
        for entry_id in decode_ids(group[1]):
            recent[entry_id] = group[0]
    return recent
