"""`otel-desk-receiver run`, with its state writes counted, for benchmarks.state_scale (run as a script, the
receiver's package from PYTHONPATH; not a product module).

Both backends' ``commit`` (StateFile's ``commit_app`` where it has one: every app's, one call per document
written) are wrapped; the totals (documents, bytes) are written every half second to the JSON file named by
BENCH_STATE_COUNTS, read by the benchmark.
"""

import json
import os
import sys
import threading

from otel_desk_receiver.cli import main
from otel_desk_receiver.state.file_backend import StateFile
from otel_desk_receiver.state.document import encode_state
from otel_desk_receiver.state.configmap_backend import KubernetesState

TOTALS = {"documents": 0, "bytes": 0}


def _counted(commit):
    def commit_counted(self, *args):  # (cursors), or StateFile.commit_app's (label, cursors)
        cursors = args[-1]
        before = getattr(self, "bytes_written", None)
        commit(self, *args)
        after = getattr(self, "bytes_written", None)
        size = after - before if before is not None else len(encode_state(cursors, self.desk))  # an older receiver
        TOTALS["documents"] += 1
        TOTALS["bytes"] += size
    return commit_counted


def _report(path: str) -> None:
    while True:
        tmp = path + ".tmp"
        with open(tmp, "w") as out:
            json.dump(TOTALS, out)
        os.replace(tmp, path)
        threading.Event().wait(0.5)


if __name__ == "__main__":
    if hasattr(StateFile, "commit_app"):  # every app's commit, through a section or the one-app file (issue 21)
        StateFile.commit_app = _counted(StateFile.commit_app)
    else:
        StateFile.commit = _counted(StateFile.commit)
    KubernetesState.commit = _counted(KubernetesState.commit)
    threading.Thread(target=_report, args=(os.environ["BENCH_STATE_COUNTS"],), daemon=True).start()
    sys.exit(main(["run"]))
