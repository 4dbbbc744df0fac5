"""Lint-time stand-in for dbt's `exceptions` context, see dbt.py."""


def raise_compiler_error(message):
    raise RuntimeError(message)
