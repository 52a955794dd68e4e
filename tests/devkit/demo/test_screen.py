"""Fitting a frame to the terminal: cut at the right edge, the last rows left out, one row kept for the cursor."""

import pytest

from otel_desk_receiver.devkit.demo.screen import fit


@pytest.mark.parametrize("text, columns, rows, expected", [
    ("ab\ncd\n", 80, 24, "ab\ncd\n"),
    ("abcdef\n", 3, 24, "abc\n"),
    ("1\n2\n3\n4\n", 80, 3, "1\n2\n"),
    ("1\n2\n", 80, 0, "1\n"),
], ids=["fits", "cut-at-the-edge", "last-rows-go-one-left-for-the-cursor", "tiny-terminal"])
def test_fit(text, columns, rows, expected):
    assert fit(text, columns, rows) == expected
