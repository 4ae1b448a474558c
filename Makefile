# kiosk-terminal. `make demo` and `make test` install everything they need first
# (apt packages, .venv, Python packages) through scripts/setup.sh, idempotently.

VENV := .venv
PY := $(VENV)/bin/python
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup install demo test lint bench screenshots clean deb

setup:
	@bash scripts/setup.sh

install: setup

screenshots: setup
	@$(VENV)/bin/kiosk screenshot --all demo-output/screens

demo: setup
	@$(VENV)/bin/kiosk demo

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Style, the import contracts of ../shared/DESIGN.md (setup.cfg [importlinter]), and types of
# the Qt-free core (setup.cfg [mypy]): a broken layer fails the build before any test runs.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

bench: setup
	@command -v wrk >/dev/null || { echo "bench: installing wrk (bench/fleet_load.py's client)"; \
	  S=$$([ "$$(id -u)" -ne 0 ] && echo sudo); export DEBIAN_FRONTEND=noninteractive; \
	  $$S apt-get update -qq && $$S apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	@for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# The Debian package a technician installs with `apt install ./dist/kiosk-terminal_*.deb`
# (deploy/README.md). WHEELHOUSE=none leaves the dependency wheels out (fast, needs an index).
deb: setup
	@WHEELHOUSE=$(or $(WHEELHOUSE),full) sh deploy/build_deb.sh

clean:
	rm -rf demo-output var/log .pytest_cache
