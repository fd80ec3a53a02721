# posdesk — two commands: `make run` (embedded defaults + demo data) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test install messages messages-extract migrate demo bench bench-sla bench-channels bench-intelligence lint clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "需要 Python 3.11 / Python 3.11 is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) messages

# Translations are compiled from the committed .po files (no GNU gettext needed).
messages: $(STAMP)
	$(BIN)/pybabel compile -d posdesk/locale -D django

# After changing user-facing text: refresh the catalogue (needs GNU gettext), translate the new
# entries in posdesk/locale/zh_Hans/LC_MESSAGES/django.po; tests/test_translations.py checks it.
messages-extract: $(STAMP)
	$(BIN)/posdesk makemessages -l zh_Hans --no-location -i ".venv/*" -i "var/*" -i "bench/*" -i "tests/*" -i "*/tests/*"

migrate: install
	$(BIN)/posdesk migrate --noinput -v 0

demo: migrate
	$(BIN)/posdesk demo

run: demo
	$(BIN)/posdesk serve

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/run.py

bench-sla: install
	$(BIN)/python bench/sla.py

bench-channels: install
	$(BIN)/python bench/contact.py
	$(BIN)/python bench/channels.py

# issue 5: Chinese search, triage, the incident detector, the intake pipeline
bench-intelligence: install
	$(BIN)/python bench/triage.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/incidents.py
	$(BIN)/python bench/intake.py

lint: install
	$(BIN)/ruff check posdesk config tests bench
	$(BIN)/ruff format --check posdesk config tests bench

clean:
	rm -rf $(VENV) var
