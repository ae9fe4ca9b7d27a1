"""Running a config: the YAML schema and its validation (`config.py`, `settings.py`), the problem-type
registry (`registry.py`) and one config's solve (`solve.py`), shared by the command line (`ocp/cli.py`),
the sweeps and scripts (docs/architecture.md)."""
