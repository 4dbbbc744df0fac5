"""The one exception the steps share with the DAG."""

from __future__ import annotations


class NightQuarantined(RuntimeError):
    """The night failed a critical check; it is quarantined and must not be retried."""
