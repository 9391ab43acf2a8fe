"""The front end's meaning: scopes, binding, inference, lint and the never-raising analysis.

Import the module you need (``nndsl.semantic.analyze``); this package imports nothing itself,
so ``nndsl check`` pays only for what it uses.
"""
