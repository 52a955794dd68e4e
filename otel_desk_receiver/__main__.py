"""Entry point for ``python -m otel_desk_receiver``."""

import sys

from otel_desk_receiver.cli import main

sys.exit(main())
