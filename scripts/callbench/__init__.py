"""The call benchmarks, one module each; scripts/bench_call.py runs them and prints the tables."""
