# The README's two commands. Both create the virtualenv on first use.
#   make run    the app on http://localhost:$(PORT): embedded Redis + SQLite unless REDIS_URL /
#               DATABASE_URL are set; Daphne, a Celery worker and Celery beat; Ctrl-C stops all.
#   make test   the whole test suite (same Redis rule; pass pytest options with ARGS="...").
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
HOST ?= 127.0.0.1
PY := $(VENV)/bin/python
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test manage bench fake-llm

run: $(VENV)/.app-installed
	$(PY) -m presskit.stack run --host $(HOST) --port $(PORT)

test: $(VENV)/.test-installed $(CHROMIUM)
	CHROMIUM_PATH=$(CHROMIUM) $(PY) -m presskit.stack test $(ARGS)

$(VENV)/.app-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.app-installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(CHROMIUM):
	@echo "Installing Debian's Chromium for the browser tests (needs root and apt)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Any manage.py command with the right Redis, e.g. make manage ARGS=createsuperuser
manage: $(VENV)/.app-installed
	$(PY) -m presskit.stack manage $(ARGS)

# Benchmarks, on demand (not part of the test suite): figures printed, nothing asserted.
bench: $(VENV)/.app-installed
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/breaker_overhead.py
	$(PY) bench/failover.py
	$(PY) bench/drain.py

# The fake LLM server (OpenAI and Anthropic APIs with fault injection) on port 8090.
fake-llm: $(VENV)/.app-installed
	$(PY) -m chat.fake_llm --port 8090
