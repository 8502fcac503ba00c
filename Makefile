# Two commands matter: `make run` (chat) and `make test` (everything CI checks).
# Every target builds what it needs from scratch and does nothing when up to date.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SPACY_MODEL := build/spacy_model/meta.json
ENCODER := build/encoder/model.onnx
MODEL := models/spine-faq.tar.gz
TRAINING_INPUTS := config.yml domain.yml data/nlu.yml data/rules.yml data/stories.yml \
	bot/nlu/components.py bot/nlu/focus.py bot/nlu/planner.py
# Their content's hashes: rewritten only when a hash changes, so a touched but unchanged
# file (an editor's save, a git checkout) does not retrain.
TRAINING_HASHES := build/training-inputs.sha256

export RASA_TELEMETRY_ENABLED ?= false
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# A working Python 3.10 (Rasa 3.6 supports 3.8-3.10): a plain `python3.10` first, as on a
# user's machine, then pyenv's. A candidate counts only if it really runs 3.10 (pyenv's
# shim refuses when another version is selected).
PY310 := $(shell for c in python3.10 $$(pyenv root 2>/dev/null)/versions/3.10*/bin/python3.10 /usr/bin/python3.10; do \
	command -v "$$c" >/dev/null 2>&1 && "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1 \
	&& { command -v "$$c"; break; }; done)

.PHONY: always help install spacy encoder train run shell cluster validate test test-fast lint constraints clean browser nginx load bench

help:
	@echo "make run       chat: action server + Rasa (REST, socket.io) on 127.0.0.1:5005"
	@echo "make shell     chat in this terminal (rasa shell)"
	@echo "make cluster   RASA_REPLICAS (2) Rasa replicas behind nginx on 127.0.0.1:8080,"
	@echo "               on PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"
	@echo "make test      validate data, train if needed, run every test"
	@echo "make load      load test: 50 concurrent conversations x 20 messages (reports/load.json)"
	@echo "make bench     train and measure ours vs stock Rasa vs TF-IDF (docs/benchmarks.md)"
	@echo "make install / spacy / encoder / train / validate / lint / clean"

$(INSTALLED): requirements.txt requirements-build.txt constraints.txt pyproject.toml
	@if [ -z "$(PY310)" ]; then \
		echo "error: Python 3.10 not found. Rasa 3.6.21 needs Python 3.8-3.10."; \
		echo "       Install python3.10 (or 'pyenv install 3.10') and run make again."; \
		exit 1; fi
	@if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
		echo "creating $(VENV) with $(PY310)"; rm -rf $(VENV); "$(PY310)" -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet "pip==24.0"
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-build.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

# The web chat widget's only npm package (socket.io-client), pinned by web/package-lock.json.
WEB_DEPS := web/node_modules/.package-lock.json
$(WEB_DEPS): web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
	@touch $@

install: $(INSTALLED) $(WEB_DEPS)

# Debian's Chromium for the web chat browser test (Playwright downloads no browser).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends chromium chromium-driver; fi

# Debian's nginx for `make cluster` and its tests (its service is not started).
nginx:
	@if [ ! -x /usr/sbin/nginx ]; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends nginx; fi

# The project's own spaCy pipeline (blank English + lemmatizer + procedure EntityRuler).
$(SPACY_MODEL): $(INSTALLED) data/facts.yml bot/core/facts.py bot/nlu/spacy_pipeline.py
	$(BIN)/python -m bot build-spacy

spacy: $(SPACY_MODEL)

# The sentence encoder: all-MiniLM-L6-v2 from its PyPI wheel, exported once to ONNX.
$(ENCODER): $(INSTALLED) bot/nlu/encoder_export.py
	$(BIN)/python -m bot build-encoder

encoder: $(ENCODER)

$(TRAINING_HASHES): always
	@mkdir -p $(@D)
	@sha256sum $(TRAINING_INPUTS) > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

# Retrain only when the content of NLU/dialogue data, domain or config changed. Fact
# texts are read at run time, so editing data/facts.yml needs no retraining.
$(MODEL): $(TRAINING_HASHES) | $(SPACY_MODEL) $(ENCODER)
	$(BIN)/python -m bot check-facts
	$(BIN)/rasa train --fixed-model-name spine-faq --out models --quiet
	@touch $@

train: $(MODEL)

validate: $(SPACY_MODEL) $(ENCODER)
	$(BIN)/rasa data validate --fail-on-warning

run: $(MODEL) $(WEB_DEPS)
	scripts/serve.sh run

shell: $(MODEL)
	scripts/serve.sh shell

# Several replicas on PostgreSQL and Redis behind nginx (bot/server/cluster.py); `make
# run` stays one process on SQLite and needs no server.
cluster: $(MODEL) $(WEB_DEPS) nginx
	$(BIN)/python -m bot.server.cluster

lint: $(INSTALLED)
	$(BIN)/ruff check bot actions harness tests scripts bench
	$(BIN)/ruff format --check bot actions harness tests scripts bench

test: validate $(MODEL) lint browser nginx $(WEB_DEPS)
	$(BIN)/rasa test core --model $(MODEL) --stories tests/test_stories.yml \
		--fail-on-prediction-errors --out reports/stories
	$(BIN)/python -m pytest

# Quick iteration: every test that needs no server, browser or trained model (a minute or
# two). `make test` is the full run CI does.
test-fast: $(INSTALLED) $(SPACY_MODEL) $(ENCODER)
	$(BIN)/python -m pytest -m "not slow"

# Starts its own action server + Rasa on free ports; fails on any lost, duplicated or
# reordered reply. Timings are reported (docs/reliability.md), never asserted.
load: $(MODEL)
	$(BIN)/python scripts/loadtest.py --conversations 50 --messages 20

# Trains ours and the stock pipeline (10+ minutes), then writes docs/benchmarks.md and
# docs/benchmark_tradeoff.png. `make test` runs a quick smoke version of it. Then one
# process against two replicas behind nginx (reports/cluster_bench.json; the
# "Replicas" section of docs/benchmarks.md is written from it).
bench: $(MODEL) nginx
	$(BIN)/python scripts/bench.py
	$(BIN)/python -m bench.cluster

constraints: $(INSTALLED)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf build models reports results .pytest_cache
