"""The config sections that make a run one local solve from its configured start (no search): what the tests
that check one fit's numbers merge into their configs."""

SINGLE_SOLVE = {
    "initialization": {"strategy": "simulate"},
    "multistart": {"starts": 1, "extra_strategies": [], "first_start_strategies": []},
}
