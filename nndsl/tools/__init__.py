"""Authoring tools built on the front end's analysis: the language server, diagrams, import, explain."""
