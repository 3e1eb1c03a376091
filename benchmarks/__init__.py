"""fedlab's benchmarks, a package run from the repository's root: `python -m benchmarks.run`.

Each module imports fedlab like any user (the environment installs it) and its sibling
modules as `benchmarks.<name>`; a module that runs alone is started as `python -m
benchmarks.<name>` (benchmarks/README.md).
"""
