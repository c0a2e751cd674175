# previewbot: `make run` starts everything (sandbox mode without credentials), `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint demo bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "previewbot needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

.PHONY: redis-server
redis-server:
	@sh scripts/ensure-redis.sh

run: $(STAMP) redis-server
	$(BIN)/python -m scripts.run

test: $(STAMP) redis-server
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/python -m scripts.demo

bench: $(STAMP) redis-server
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .run .pytest_cache .ruff_cache *.egg-info
