"""The command line's own layer: options, human output, exit codes.

This package and the top-level ``cli.py`` are the only code that prints for
people or chooses an exit code; everything they call returns values or raises
errors from :mod:`rollout.errors`.
"""
