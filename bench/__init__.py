"""Benchmarks of pytest-rlvr: each module measures ours against the bare alternative in one run.

`python -m bench` runs every module listed in `bench.__main__.BENCHES`; each exposes `main()`.
"""
