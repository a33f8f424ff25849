"""The library the stages and the commands share: params loading and validation, a run's identity, settings
and training (``runs``, ``training_run``), the run record and the results layout (``records``), the checks
and 0/1 matrices of runs' predictions (``predictions``), the statistics, the README's claims, the executors,
the one error entry (``entry``) and the data commands' plumbing. It imports nothing from
:mod:`pipelines.stages` or :mod:`pipelines.commands`: what two of them need is moved here, not imported from
one of them (tests/unit/test_pipelines_layout.py).
"""
