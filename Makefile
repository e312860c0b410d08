# One command sets up and runs a backtest; one sets up and runs the tests.
# Python 3.12 is found through pyenv when it is not the default python3.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SHARED := ../shared/hyperliquid_research_data
CATALOG := data/catalog
ARCHIVE := $(SHARED)/vigil-hypertrace/hyperliquid_samples/hyperliquid-archive/market_data/20240101/12/l2Book/BTC.lz4

HL_CSV := $(SHARED)/hl-collector-csv/recordings
WS26 := $(SHARED)/hftbacktest/examples/hyperliquid/btcusd_20250126.gz

.PHONY: setup backtest test bench fingerprint day fuzz faults live clean catalogs catalog-binance compare sweep calibrate signals heldout

$(VENV)/.installed: pyproject.toml
	PY312=$$(bash scripts/find_python312.sh) && echo "using $$PY312" && "$$PY312" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,ray]'
	@touch $@

setup: $(VENV)/.installed

$(CATALOG)/.built: $(VENV)/.installed
	$(PY) -m adapters.hyperliquid.catalog_cli $(ARCHIVE) --catalog $(CATALOG)
	@touch $@

# The bundled real data with trades: 9 minutes of BTC, ETH and SOL (one catalog per coin) and the 26 s WS recording.
data/catalog_hl_%/.built: $(VENV)/.installed
	$(PY) -m adapters.hyperliquid.catalog_cli $(HL_CSV)/hl_$(shell echo $* | tr a-z A-Z)_20250903.gz --coin $(shell echo $* | tr a-z A-Z) --catalog data/catalog_hl_$*
	@touch $@

data/catalog_ws26/.built: $(VENV)/.installed
	$(PY) -m adapters.hyperliquid.catalog_cli $(WS26) --catalog data/catalog_ws26
	@touch $@

# Binance USD-M BTCUSDT: 5.7 minutes (REST snapshot, depth@0ms diffs, trades, bookTicker), 2024-08-08.
BINANCE_CATALOG := data/catalog_binance_btcusdt
$(BINANCE_CATALOG)/.built: $(VENV)/.installed
	$(PY) -m adapters.binance.loaders $(SHARED)/hftbacktest/examples/usdm/btcusdt_20240808.gz --catalog $(BINANCE_CATALOG)
	@touch $@

catalog-binance: $(BINANCE_CATALOG)/.built

# Sweeps: the 9 minutes of BTC with trades, with a full-book checkpoint every 15 s so walk-forward windows can
# start on any 15 s boundary (a backtest must start on a full book). Each window's runs quote with priors fitted on
# the data before it (walk_forward.priors: before_window): the config's were fitted on all 9 minutes.
SWEEP_CATALOG := data/sweep_hl_btc_cp15
$(SWEEP_CATALOG)/.built: $(VENV)/.installed
	$(PY) -m adapters.hyperliquid.catalog_cli $(HL_CSV)/hl_BTC_20250903.gz --coin BTC --catalog $(SWEEP_CATALOG) --checkpoint-s 15
	@touch $@

sweep: $(SWEEP_CATALOG)/.built
	$(PY) run_sweep.py configs/sweeps/hl_btc_example.yaml

catalogs: $(CATALOG)/.built data/catalog_hl_btc/.built data/catalog_hl_eth/.built data/catalog_hl_sol/.built data/catalog_ws26/.built $(BINANCE_CATALOG)/.built

# A config's "priors" block (κ, A, σ) fitted from a catalog:
#   make calibrate CATALOG=data/catalog_hl_eth INSTRUMENT=ETH-USD-PERP.HYPERLIQUID
INSTRUMENT ?= BTC-USD-PERP.HYPERLIQUID
calibrate: setup
	$(PY) -m mm_strategy.calibrate --catalog $(CATALOG) --instrument $(INSTRUMENT)

compare: catalogs
	$(PY) benchmarks/compare_grid.py

# New captures of a shipped coin (held-out days): a file or a directory of collector CSV captures or WS recordings,
# one or many days, into data/heldout_<coin>, then the shipped config against the grid on it:
#   make heldout HELDOUT=/path/to/HL_data COIN=ETH
COIN ?= BTC
HELDOUT_CATALOG = data/heldout_$(shell echo $(COIN) | tr A-Z a-z)
heldout: setup
	@test -n "$(HELDOUT)" || { echo "usage: make heldout HELDOUT=FILE_OR_DIR COIN=BTC|ETH|SOL"; exit 2; }
	rm -rf $(HELDOUT_CATALOG)
	$(PY) -m adapters.hyperliquid.catalog_cli $(HELDOUT) --coin $(COIN) --catalog $(HELDOUT_CATALOG)
	$(PY) benchmarks/compare_grid.py --dataset configs/hyperliquid_$(shell echo $(COIN) | tr A-Z a-z).json:$(HELDOUT_CATALOG)

signals: catalogs
	$(PY) benchmarks/signal_study.py

backtest: $(CATALOG)/.built
	$(PY) run_backtest.py --catalog $(CATALOG)

test: setup
	$(PY) -m pytest -q

bench: $(CATALOG)/.built data/catalog_hl_btc/.built
	$(PY) benchmarks/backtest_throughput.py --catalog $(CATALOG) --catalog data/catalog_hl_btc

# Identical results across a change: `make fingerprint SAVE=before.json`, change, `make fingerprint COMPARE=before.json`.
fingerprint: catalogs
	$(PY) benchmarks/fingerprint.py $(if $(SAVE),--save $(SAVE)) $(if $(COMPARE),--compare $(COMPARE))

# Scale test: the archive hour replayed 24 times (data/scale_test_day_btc) streamed through the full stack.
day: $(CATALOG)/.built
	$(PY) benchmarks/day_of_data.py
	$(PY) benchmarks/window_setup.py

fuzz: setup
	$(PY) benchmarks/fuzz_frames.py

faults: setup
	$(PY) benchmarks/fault_suite.py

live: setup
	$(PY) run_live.py

clean:
	rm -rf $(VENV) data reports
