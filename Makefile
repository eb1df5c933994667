# Destek: `make run` starts everything, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
PORT ?= 8000
PYTEST_ARGS ?=
# Front-end packages (package.json, package-lock.json) are installed from the npm registry and
# copied into static files here; pages never load them from a CDN.
HTMX := destek/lib/static/vendor/htmx.min.js

.PHONY: install run test test-all browser-deps imap-deps proxy-deps lint format bench lock messages clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(HTMX): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p $(dir $(HTMX))
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

install: $(STAMP) $(HTMX)

run: install
	DESTEK_DEMO=1 PORT=$(PORT) $(BIN)/destek run

# The default suite: SQLite, in-memory cache and channel layer, queue inline. Slow suites
# (marked `slow`) run in .ci/run.
test: install lint
	$(BIN)/pytest -m "not slow" -n 2 $(PYTEST_ARGS)

# Debian's Chromium drives the browser tests (tests/test_browser.py); Playwright's own
# browser downloads are never used.
browser-deps:
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

# Debian's Dovecot: the IMAP tests (destek/mail/tests/test_imap.py) start their own on loopback
# with a throwaway configuration; the system's service is never used.
imap-deps:
	command -v dovecot >/dev/null || test -x /usr/sbin/dovecot || (apt-get update -q && apt-get install -y -q dovecot-imapd)

# Debian's Caddy: the scale-out test (tests/test_scale_out.py, on PostgreSQL and Redis) runs
# deploy/Caddyfile in front of its processes on loopback; the system's service is never used.
proxy-deps:
	command -v caddy >/dev/null || (apt-get update -q && apt-get install -y -q caddy)

test-all: install browser-deps imap-deps proxy-deps
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/mypy destek

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Knobs for bench/run.py, e.g. BENCH_ARGS="--quick" or "--big 0" (see bench/README.md).
BENCH_ARGS ?=
# bench/reports.py seeds a million tickets by default; e.g. BENCH_REPORTS_ARGS="--tickets 100000".
BENCH_REPORTS_ARGS ?=
bench: install
	$(BIN)/python bench/sla_engine.py
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/kb_search.py
	$(BIN)/python bench/reports.py $(BENCH_REPORTS_ARGS)

# Refresh the lock file after changing dependencies in pyproject.toml.
lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

messages: install
	cd destek && DESTEK_DATA_DIR=$(CURDIR)/var ../$(BIN)/python ../manage.py makemessages -l az -l fa -l ru -l tr -l en --no-obsolete --add-location file
	cd destek && DESTEK_DATA_DIR=$(CURDIR)/var ../$(BIN)/python ../manage.py compilemessages

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules $(HTMX)
