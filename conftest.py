"""pytest reads this file by itself, whatever it runs: the tests, the notebooks, or one notebook.

It loads tests/notebook_report.py, which prints each notebook's run time and share of compared
cells, sets FEDLAB_NOT_PRIVATE_SEED=0 before any kernel starts, and fails the run if a TFF worker
or a federated program that the run started is still running at its end. The file sits at the
repository's root, not in tests/, because pytest reads a conftest.py only in the folders of
what it is asked to run and their parents: `pytest notebooks/07_....ipynb` would miss one in
tests/.
"""

pytest_plugins = ["notebook_report"]
