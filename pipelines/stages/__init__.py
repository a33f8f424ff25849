"""The DVC stages: one thin module per stage of ``dvc.yaml`` (``fetch``, ``prepare``, ``train``, ``linear``,
``evaluate``, ``tables``, ``plots``), each run as ``python -m pipelines.stages.NAME``. A stage module holds its
``main()`` and what only that stage does; anything a second stage or a command needs lives in
:mod:`pipelines.lib`. No stage imports another: stages talk only through the files ``dvc.yaml`` declares
(``tables`` and ``plots`` read what ``evaluate`` writes, never its code), so each stage's ``deps`` can name
every file it depends on (tests/unit/test_pipelines_layout.py holds these rules).
"""
