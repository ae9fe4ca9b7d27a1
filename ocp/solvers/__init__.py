"""Solving one NLP from one start: IPOPT (`ipopt.py`) and the gradient flow, the first-order phase and
the optimality check around them, stopping callbacks, the `Status` of a solve and the `Solution` record
(docs/architecture.md)."""
