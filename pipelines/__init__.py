"""The benchmark around the core: :mod:`pipelines.stages` (one module per DVC stage), :mod:`pipelines.lib`
(what the stages and commands share) and :mod:`pipelines.commands` (``asgl-bench`` and its subcommands);
``published/`` holds the reference tables shipped as package data (docs/architecture.md)."""
