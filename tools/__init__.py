"""Authoring tools for the course (run from the repository root as `python -m tools.NAME`); not installed."""
