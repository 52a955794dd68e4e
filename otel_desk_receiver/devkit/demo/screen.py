"""Fitting the demo's text to a terminal: prose wrapped to its width, shell commands continued with
backslashes (so they still paste), and the screen cut to its rows so that a redraw never scrolls."""

import textwrap
from collections.abc import Iterable


def usable_width(columns: int) -> int:
    """One column stays free: a line that fills the last column makes some terminals wrap it."""
    return max(20, columns - 1)


def wrap_lines(lines: Iterable[str], columns: int) -> list[str]:
    """Each line longer than the width wrapped at spaces; continuation lines indented two more spaces."""
    width = usable_width(columns)
    wrapped: list[str] = []
    for line in lines:
        if len(line) <= width:
            wrapped.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        wrapped += textwrap.wrap(line, width=width, subsequent_indent=indent + "  ", break_on_hyphens=False)
    return wrapped


def continued(tokens: Iterable[str], columns: int, indent: str = "  ") -> list[str]:
    """Shell tokens (already quoted) as lines within the width, each but the last ending in ' \\'."""
    width = usable_width(columns) - 2  # room for the " \" that continues a line
    lines: list[str] = []
    line = ""
    for token in tokens:
        if line and len(line) + 1 + len(token) > width:
            lines.append(line + " \\")
            line = indent + "  " + token
        else:
            line = f"{line} {token}" if line else indent + token
    return lines + [line]


def fit(text: str, columns: int, rows: int) -> str:
    """The text cut to a terminal's size, so a redraw never scrolls: long lines end at the edge, the
    last lines go (one row stays free for the cursor)."""
    lines = [line[:columns] for line in text.splitlines()[:max(1, rows - 1)]]
    return "\n".join(lines) + "\n"
