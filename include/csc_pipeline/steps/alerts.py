"""alerts: the night's team digests and engineers' notices, from the published warehouse.

The work is csc_pipeline.alerts (owner: the alerts area); this step is the DAG's one
entry to it. A mail outage does not fail the night: undelivered digests are retried by
the next run (alerts/delivery.py).
"""

from __future__ import annotations


def run(ref: dict) -> dict:
    from csc_pipeline.alerts import send_night_alerts

    return send_night_alerts(ref)
