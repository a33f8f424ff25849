"""Baseline methods: adapters that register themselves in :mod:`asgl.registry` when their module is imported.

Importing this package imports nothing else: a baseline is registered when its own module is imported, so
one method's identity (the files a run depends on) never includes another method's file. The registry finds
each module through this project's entry points (``[project.entry-points."asgl_bench.methods"]`` in
``pyproject.toml``: method name = module), the same way it finds third-party plugins. A new baseline is one
module here that calls :func:`asgl.registry.register_method` at import, one entry point per method it
registers, and one line ``<name>: baselines/<module>.py`` under ``run.methods`` in ``params.yaml``. Modules
import optional third-party packages lazily (inside functions) so that listing methods never fails.
"""
