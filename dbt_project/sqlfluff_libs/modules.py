"""Lint-time stand-in for dbt's `modules` context (datetime, re), see dbt.py."""

import datetime  # noqa: F401
import re  # noqa: F401
