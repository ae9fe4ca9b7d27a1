"""From a problem to an NLP: direct multiple shooting (`transcription.py`) from the functions it
evaluates on its grid (`functions.py`), the batch evaluation of an ensemble (`vectorize.py`), the
per-member Hessian colouring (`hessian.py`), forward simulation with the transcription's integrator step
(`simulation.py`) and the keys that say when two problems share one NLP (`fingerprint.py`)
(docs/architecture.md)."""
