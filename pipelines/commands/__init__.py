"""The user commands: ``asgl-bench`` (:mod:`pipelines.commands.cli`) and the modules behind its subcommands
(``compare``, ``plan``, ``reproduce``, ``export``, ``profile``) and ``calibration``. They are not DVC stages and
write no stage's output (``profile`` writes ``params.yaml``, the stages' input); they build on
:mod:`pipelines.lib` and import no stage. The one way a command reaches a stage is ``asgl-bench fetch`` /
``prepare``, which run that stage's ``main(argv)`` whole, named in :data:`pipelines.commands.cli.DELEGATED` as
DVC names it in ``dvc.yaml`` (tests/unit/test_pipelines_layout.py).
"""
