# make demo: the receiver on embedded defaults (no account needed).
# make test: install everything the suite uses (into .venv, plus Debian's prometheus for promtool), then run it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_QUIET := 2>&1 | grep -v "is ignored" || true

.PHONY: venv deps test demo bench clean

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

# pytest exits 5 when it collected no tests: that is a failure here, never a pass.
test: deps
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

demo: venv
	$(BIN)/otel-desk-receiver demo

bench: deps
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
