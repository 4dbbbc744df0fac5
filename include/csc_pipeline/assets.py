"""The Airflow Assets a published night updates, so other DAGs can run on it.

The nightly DAG's publish task (one per council and night) updates two kinds of asset:

- `PUBLISHED_NIGHT`, shared by all councils: the hub's and the board pack's DAGs
  schedule on it (`@dag(schedule=PUBLISHED_NIGHT)`) and read which councils were
  published from the triggering events' `extra` (see `published_event_extra`).
- `council_asset(la_code)`, one per council, updated through the `PUBLISHED_BY_COUNCIL`
  alias (the council is known only at run time, in the mapped task): a council's own
  jobs schedule on their council's asset only (`@dag(schedule=council_asset("201"))`).

An event is emitted only when publish succeeds, i.e. after the atomic swap: a consumer
always reads a complete, published warehouse (read-only: the writer may be building the
next night). The extra never holds personal data: council code, night, paths, counts.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

ASSET_GROUP = "csc"
PUBLISHED_NIGHT = Asset(
    name="csc_published_night", uri="csc://warehouse/published-night", group=ASSET_GROUP
)
PUBLISHED_BY_COUNCIL = AssetAlias(name="csc_published_night_by_council", group=ASSET_GROUP)


def council_asset(la_code: str) -> Asset:
    """The asset a council's own downstream jobs schedule on."""
    return Asset(
        name=f"csc_published_night_{la_code}",
        uri=f"csc://warehouse/{la_code}/published-night",
        group=ASSET_GROUP,
    )


def published_event_extra(result: dict) -> dict:
    """What a consumer needs to find the night: council, night, published locations."""
    return {
        "la_code": result["la_code"],
        "export_date": result["export_date"],
        "warehouse": result["warehouse"],
        "parquet_dir": result.get("parquet_dir", ""),
        "published_tables": len(result.get("published_tables", [])),
    }


def record_published(result: dict) -> None:
    """Attach the published night to the running publish task's asset events."""
    from airflow.sdk import get_current_context

    outlet_events = get_current_context()["outlet_events"]
    extra = published_event_extra(result)
    outlet_events[PUBLISHED_NIGHT].extra = extra
    outlet_events[PUBLISHED_BY_COUNCIL].add(council_asset(result["la_code"]), extra=extra)
