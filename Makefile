# make demo: the receiver on embedded defaults (no account needed).
# make test: install everything the suite uses (into .venv, plus Debian's prometheus for promtool), then run it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_QUIET := 2>&1 | grep -v "is ignored" || true
DDAGENT := .cache/ddapm-test-agent

.PHONY: venv deps test suite sdk-oldest demo bench slo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip $(PIP_QUIET)

venv: $(BIN)/python
	$(BIN)/pip install -q -e . $(PIP_QUIET)
	@$(BIN)/otel-desk-receiver --version

deps: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]' $(PIP_QUIET)
	@command -v promtool >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@promtool --version | head -1
	@# The image, built and run without a Docker daemon (tests/deploy/image.py, test_image.py): buildah, and debootstrap for its base.
	@command -v buildah >/dev/null && command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah debootstrap >/dev/null; }
	@buildah --version
	@# The release round trip (tests/deploy/test_release_registry.py): the CNCF distribution registry on loopback;
	@# the workflow lint (tests/deploy/test_workflows.py): shellcheck for the workflows' run: scripts.
	@command -v docker-registry >/dev/null && command -v shellcheck >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry shellcheck >/dev/null; }
	@# The alert pipeline (tests/e2e/test_alerts.py): Prometheus, Alertmanager.
	@command -v prometheus-alertmanager >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null; }
	@# A real browser for the status page (tests/runtime/test_status_page.py): Debian's chromium, run headless.
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@# Grafana's dashboard schema and LogQL grammar (tests/deploy/test_grafana_schema.py), from the lock file.
	@[ tests/deploy/node/node_modules/.package-lock.json -nt tests/deploy/node/package-lock.json ] || npm ci --prefix tests/deploy/node --no-audit --no-fund --ignore-scripts --loglevel=error
	@# Datadog's test agent in a virtualenv of its own (its pins are not ours): tests/e2e/test_datadog_agent.py.
	@[ -x $(DDAGENT)/bin/ddapm-test-agent ] || { mkdir -p .cache && echo '*' > .cache/.gitignore && $(PYTHON) -m venv $(DDAGENT) && $(DDAGENT)/bin/pip install -q 'ddapm-test-agent==1.69.1' $(PIP_QUIET); }

# The whole suite on three workers (pytest-xdist, whole files each, in collection order: xdist would hand out
# the files with most tests first; the alert proofs, collected first and nearly all waiting on Prometheus,
# take one worker while the other two run the rest on the two cores), then its 15 slowest tests. PYTEST_ARGS adds pytest arguments
# (`make test PYTEST_ARGS=tests/desk`). pytest's "no tests" exit (5) is a failure, never a pass.
test: deps
	@$(MAKE) --no-print-directory suite
	@$(MAKE) --no-print-directory sdk-oldest

# The suite alone, once `make deps` has run.
suite:
	@$(BIN)/python -m pytest -n 3 --dist loadfile --no-loadscope-reorder --durations=15 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The oldest OpenTelemetry SDK pyproject.toml's ranges allow (README, "Supported OpenTelemetry SDK"), pinned in
# tests/sdk-oldest.txt, in a venv of its own, through the tests that touch the SDK, its protos and grpc
# (under a minute); `make deps` installs the newest. `make test` runs it after the suite.
SDK_OLDEST := .venv-sdk-oldest
SDK_TESTS := tests/otlp tests/devkit/sink tests/runtime/test_selfmetrics.py tests/runtime/test_read_health.py \
	tests/runtime/test_budget.py tests/test_cli.py

$(SDK_OLDEST)/installed: pyproject.toml tests/sdk-oldest.txt
	rm -rf $(SDK_OLDEST) && $(PYTHON) -m venv $(SDK_OLDEST)
	$(SDK_OLDEST)/bin/pip install -q -c tests/sdk-oldest.txt -e . 'pytest>=8' 'pytest-xdist>=3.6' 'psutil>=5.9' \
		'kubernetes-validate>=1.33' 2>$(SDK_OLDEST)/pip.log || { grep -v "is ignored" $(SDK_OLDEST)/pip.log >&2; exit 1; }
	@touch $@

sdk-oldest: $(SDK_OLDEST)/installed
	@$(SDK_OLDEST)/bin/python -c "from importlib.metadata import version; print('opentelemetry-sdk', version('opentelemetry-sdk'))"
	$(SDK_OLDEST)/bin/python -m pytest -n 2 --dist loadfile $(SDK_TESTS)

demo: venv
	$(BIN)/otel-desk-receiver demo

bench: deps
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.startup
	$(BIN)/python -m benchmarks.freshness $(FRESHNESS_ARGS)
	$(BIN)/python -m benchmarks.state_scale --interval 30 --intervals 2 $(STATE_SCALE_ARGS)

# The SLO files (Prometheus rules, Datadog SLOs and monitors, Grafana SLO dashboard) from their one source,
# examples/slo/bots.openslo.yaml (docs/slo.md); commit what it rewrites.
slo: venv
	$(BIN)/python -m otel_desk_receiver.devkit.slo

clean:
	rm -rf $(VENV) $(SDK_OLDEST) .pytest_cache build *.egg-info
