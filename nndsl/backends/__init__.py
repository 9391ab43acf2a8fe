"""Backends: lower a checked model to something that runs (Keras) or reads (Python source)."""
