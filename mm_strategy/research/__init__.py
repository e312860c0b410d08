"""The research loop: many backtests over parameter sets, datasets and time windows, ranked and walked forward.

    spec (JSON/YAML) ─▶ expand parameter sets ─▶ plan windows per catalog ─▶ plan runs (every config validated)
        ─▶ execute (one process per backtest: local pool or Ray tasks) ─▶ Parquet results table (one row per run)
        ─▶ score + constraints ─▶ leaderboard, walk-forward in/out of sample ─▶ HTML page + winning config

Modules, one concern each: :mod:`.overrides` (dotted paths into a config document), :mod:`.spec` (the spec file),
:mod:`.expand` (parameter sets), :mod:`.windows` (time windows on a catalog), :mod:`.plan` (the run list),
:mod:`.runner` (one backtest in a worker), :mod:`.local_pool` and :mod:`.ray_pool` (execution), :mod:`.results`
(the Parquet table), :mod:`.metrics` (metric names and flattening), :mod:`.scoring` (rank, leaderboard, winner),
:mod:`.walkforward`, :mod:`.provenance` (each row's code version and catalog fingerprint), :mod:`.report` (HTML),
:mod:`.winner` (config writer), :mod:`.sweep` (orchestration).
"""
