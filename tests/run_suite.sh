#!/usr/bin/env bash
# The whole suite, as `make test` runs it: the real-Prometheus alert test (marker alert_pipeline: about
# 35 minutes, nearly all of it waiting on the rules' `for:` durations, little CPU) runs in a second pytest
# beside the rest; its log follows the rest's output, live until it ends. With arguments, one plain pytest
# with them. pytest's exit 5 (it collected no tests) is a failure here, never a pass.
#
# PYTHON: the interpreter (default .venv/bin/python); ALERT_TIMEOUT: how long the alert run may take
# (timeout(1)'s syntax, default 60m), so a hung run fails with its log instead of eating CI's budget.
set -uo pipefail
PYTHON=${PYTHON:-.venv/bin/python}
ALERT_TIMEOUT=${ALERT_TIMEOUT:-60m}
ALERT_LOG=.cache/alert-pipeline.log

no_tests() { [ "$1" -eq 5 ] && echo "make test: pytest collected no tests ($2)" >&2; }

if [ $# -gt 0 ]; then
  "$PYTHON" -m pytest "$@"; rc=$?
  no_tests $rc "pytest $*" && exit 1
  exit $rc
fi

mkdir -p .cache
# A process group of its own (job control on): stopping `make test` stops the alert run's Prometheus
# servers, Alertmanager and receivers with it, and timeout(1) signals that whole group.
set -m
timeout -s TERM "$ALERT_TIMEOUT" "$PYTHON" -m pytest -m alert_pipeline -p no:cacheprovider \
  --basetemp=.cache/alert-pipeline-tmp >"$ALERT_LOG" 2>&1 &
alerts=$!
set +m
stop_alerts() { kill -TERM -- -$alerts 2>/dev/null; [ -n "${follower:-}" ] && kill $follower 2>/dev/null; }
trap 'stop_alerts; exit 130' INT
trap 'stop_alerts; exit 143' TERM
"$PYTHON" -m pytest -m "not alert_pipeline"; rc=$?
echo "make test: the alert pipeline (pytest -m alert_pipeline, log in $ALERT_LOG):"
tail -n +1 -f "$ALERT_LOG" &
follower=$!
wait $alerts; alerts_rc=$?
sleep 2  # tail's last lines (it follows with inotify, or polls each second)
kill $follower 2>/dev/null
trap - INT TERM
[ $alerts_rc -eq 124 ] && echo "make test: the alert pipeline did not end within $ALERT_TIMEOUT" >&2
no_tests $rc "the suite" && exit 1
no_tests $alerts_rc "the alert pipeline" && exit 1
[ $rc -eq 0 ] && [ $alerts_rc -eq 0 ]
