"""Where things are: the repository and the suite's test data."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / "tests" / "testdata"
