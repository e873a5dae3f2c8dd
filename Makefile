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
# The PDF exports (WeasyPrint) need Debian's Pango and fonts: installed once, never downloaded.
PDF_FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
# The test of the admin's Spanish catalogue compiles it again with gettext's msgfmt.
MSGFMT := /usr/bin/msgfmt
# Installs come from uv.lock (exact versions and hashes), through uv: README, "Dependencies".
UV_VERSION ?= 0.13.9
TOOLS ?= .tools
UV := $(TOOLS)/bin/uv
SYNC := UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --python $(PYTHON) --quiet

.PHONY: run test test-drift manage bench fake-llm lock

run: $(VENV)/.app-installed $(PDF_FONT)
	$(PY) -m presskit.stack run --host $(HOST) --port $(PORT)

test: $(VENV)/.test-installed $(CHROMIUM) $(PDF_FONT) $(MSGFMT)
	CHROMIUM_PATH=$(CHROMIUM) $(PY) -m presskit.stack test $(ARGS)

# uv itself, pinned, in a virtualenv of its own (so syncing the project never removes it).
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --locked: a pyproject.toml changed without `make lock` stops here instead of drifting.
# --inexact for the app: test tools already in the virtualenv stay.
$(VENV)/.app-installed: uv.lock pyproject.toml | $(UV)
	$(SYNC) --inexact
	touch $@

$(VENV)/.test-installed: uv.lock pyproject.toml | $(UV)
	$(SYNC) --extra test
	touch $@ $(VENV)/.app-installed

# The idle-connection tests (pytest -m idle) beyond the lock, each in a virtualenv of its own under
# var/drift/: the newest redis-py 7 (the lowest major allowed), and the newest of everything
# pyproject.toml allows (what the next `make lock` takes, newest redis-py 8 included).
define idle_tests_on
	rm -rf var/drift/$(1)
	UV_PROJECT_ENVIRONMENT=var/drift/$(1) $(UV) sync --locked --python $(PYTHON) --quiet --extra test
	$(UV) pip install --python var/drift/$(1)/bin/python --quiet --upgrade $(2)
	@var/drift/$(1)/bin/python -c 'import redis, channels_redis, kombu; print("[drift] $(1): redis-py", redis.__version__, "channels-redis", channels_redis.__version__, "kombu", kombu.__version__)'
	var/drift/$(1)/bin/python -m presskit.stack test -m idle $(ARGS)
endef

test-drift: | $(UV)
	$(call idle_tests_on,redis7,'redis~=7.0')
	$(call idle_tests_on,newest,-e '.[test]')

# Re-resolve uv.lock from pyproject.toml's ranges (newest versions allowed), then install it.
lock: | $(UV)
	$(UV) lock --upgrade
	rm -f $(VENV)/.app-installed $(VENV)/.test-installed

$(PDF_FONT):
	@echo "Installing Pango and the DejaVu fonts for the PDF exports (needs root and apt)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core

$(CHROMIUM):
	@echo "Installing Debian's Chromium for the browser tests (needs root and apt)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(MSGFMT):
	@echo "Installing gettext for the catalogue test (needs root and apt)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext

# Any manage.py command with the right Redis, e.g. make manage ARGS=createsuperuser
manage: $(VENV)/.app-installed
	$(PY) -m presskit.stack manage $(ARGS)

# Benchmarks, on demand (not part of the test suite): figures printed, nothing asserted.
bench: $(VENV)/.app-installed
	$(SYNC) --inexact --extra bench
	$(PY) bench/breaker_overhead.py
	$(PY) bench/failover.py
	$(PY) bench/drain.py
	$(PY) bench/public_page.py
	$(PY) bench/chat_load.py
	$(PY) bench/idle_sockets.py

# The fake LLM server (OpenAI and Anthropic APIs with fault injection) on port 8090.
fake-llm: $(VENV)/.app-installed
	$(PY) -m chat.fake_llm --port 8090
