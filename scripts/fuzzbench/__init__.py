"""The fuzz benchmark's parts, one module per area; scripts/bench_fuzz.py runs them and prints the table."""
