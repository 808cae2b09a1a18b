"""Rasa NLU components of Majlis (registered in config.yml by module path)."""
