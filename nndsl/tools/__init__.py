"""Authoring tools built on the front end's analysis: the language server, diagrams, import, explain.

Nothing here imports Keras or TensorFlow (``import_keras`` reads a model's JSON config as data).
"""
