"""Peer implementations of the reference problem, for side-by-side benchmarks."""
