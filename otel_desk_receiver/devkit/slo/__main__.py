"""`python -m otel_desk_receiver.devkit.slo`: regenerate the SLO files (`make slo`)."""

import sys

from otel_desk_receiver.devkit.slo.generate import main

sys.exit(main())
