"""Supervised learning as ensemble OCPs (docs/science.md, A and B): one trajectory per data point under
shared controls, a terminal loss and a regulariser.

`ensemble.py` poses the OCP from a network (`networks.py`, `spacetime.py`) and a data set (`datasets.py`);
`l2.py`, `turnpike.py` and `l1.py` are the three problem types (each with its ``PROBLEM_TYPE``) on the common
`problem_type.py`; `plots.py` and `sweep_report.py` are their figures; `reproduce.py` reruns the papers.
"""
