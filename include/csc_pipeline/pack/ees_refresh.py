"""Refresh the England (and regional) benchmark values from the EES public API.

OFF by default: it needs the internet, which a council's data platform often does not
have, and benchmarks change once a year. Turn it on with CSC_EES_REFRESH=true (the
DAG's `refresh_benchmarks` task then runs before the councils' nights), or run it by
hand and review the change to the seed like any other commit:

    python -m csc_pipeline.pack.ees_refresh            # rewrite the seed file
    python -m csc_pipeline.pack.ees_refresh --dry-run  # print what would change

For each indicator in SOURCES it reads the data set's summary (for its latest version),
its metadata (indicator, filter, location and time-period ids) and queries the national
and regional rows of the latest time period; the total rows (every filter at its
aggregate option) become rows of dbt_project/seeds/benchmarks/benchmark_values.csv with
the data set id and version. Rows of other indicators, areas and years are kept, so the
shipped values of data sets that are not on the API stay as they are. A suppressed or
missing value ("c", "x", "z", "low") becomes a null value with a note: "not supplied",
never 0. The next dbt build loads the refreshed seed.

API: https://api.education.gov.uk/statistics/v1 (GET data-sets/{id}, GET
data-sets/{id}/meta, POST data-sets/{id}/query). Only data sets with an API id can be
refreshed: of those in docs/spec/board-pack.md that is the C1 referrals data set; the
others are catalogue ids only and keep their transcribed values until the DfE publishes
them on the API (add them to SOURCES with their API id and indicator columns then).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from csc_pipeline.config import env_flag
from csc_pipeline.pack.benchmarks import seed_path
from csc_pipeline.warehouse import atomic_write_text

log = logging.getLogger(__name__)

API_BASE = os.environ.get("CSC_EES_API", "https://api.education.gov.uk/statistics/v1")
SEED_COLUMNS = [
    "kpi_code",
    "area_level",
    "area_code",
    "area_name",
    "period",
    "period_end",
    "value",
    "numerator",
    "denominator",
    "unit",
    "source_name",
    "ees_dataset_id",
    "ees_api_dataset_id",
    "ees_version",
    "note",
]
SUPPRESSED = {"c", "x", "z", "low", "u", ":", ""}
LEVELS = {"NAT": "national", "REG": "regional"}


@dataclass(frozen=True)
class Source:
    kpi_code: str
    source_name: str
    ees_dataset_id: str  # catalogue id
    api_dataset_id: str
    # indicator columns as named in the data set's metadata (first match wins)
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    percent: tuple[str, ...] = ()


SOURCES: tuple[Source, ...] = (
    Source(
        kpi_code="REREFERRAL_12M_PCT",
        source_name="Children in need: C1 referrals and re-referrals",
        ees_dataset_id="911dae20-ac5d-4e28-bee8-53a658761fa5",
        api_dataset_id="342f9a01-26f0-2a71-91a1-f8bc0bee8b11",
        numerator=("re_referrals", "rereferrals", "re_referrals_within_12_months"),
        denominator=("referrals", "number_of_referrals"),
        percent=("re_referrals_percent", "rereferrals_percent", "re_referral_rate"),
    ),
)


class EesError(RuntimeError):
    """The API answered with something this refresh cannot read (the message says what)."""


Fetch = Callable[[str, dict | None], dict]


def http_fetch(url: str, body: dict | None = None, timeout: float = 30.0) -> dict:
    """GET (body None) or POST a JSON body; the parsed JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        method="POST" if data is not None else "GET",
        headers={"Accept": "application/json", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - fixed https base
        return json.loads(resp.read().decode("utf-8"))


def _first(columns: dict[str, str], wanted: tuple[str, ...]) -> str | None:
    """The indicator id of the first wanted column present (column name -> id)."""
    for name in wanted:
        if name in columns:
            return columns[name]
    return None


def _number(text) -> float | None:
    if text is None:
        return None
    text = str(text).strip().replace(",", "")
    if text.lower() in SUPPRESSED:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _period(period: str) -> tuple[str, str]:
    """EES "2024/2025" (financial or academic year) -> ("2024-25", "2025-03-31")."""
    if "/" in period:
        start, end = period.split("/")[:2]
        end = end if len(end) == 4 else start[:2] + end
        return f"{start}-{end[2:]}", f"{end}-03-31"
    if len(period) == 6 and period.isdigit():  # "202425"
        return f"{period[:4]}-{period[4:]}", f"20{period[4:]}-03-31"
    return period, f"{period}-03-31"


def parse(source: Source, summary: dict, meta: dict, query: dict) -> list[dict]:
    """Seed rows from the data set's summary, metadata and query answer (no network)."""
    try:
        version = str(summary["latestVersion"]["version"])
        columns = {i["column"]: i["id"] for i in meta["indicators"]}
        aggregate = {
            o["id"]: bool(o.get("isAggregate"))
            for f in meta.get("filters", [])
            for o in f.get("options", [])
        }
        locations = {
            o["id"]: (lv["level"]["code"], o.get("code") or "", o.get("label") or "")
            for lv in meta["locations"]
            for o in lv["options"]
        }
        results = query["results"]
    except (KeyError, TypeError) as exc:
        raise EesError(f"{source.api_dataset_id}: unexpected answer shape ({exc!r})") from exc
    num_id = _first(columns, source.numerator)
    den_id = _first(columns, source.denominator)
    pct_id = _first(columns, source.percent)
    if not ((num_id and den_id) or pct_id):
        raise EesError(
            f"{source.api_dataset_id}: none of the indicator columns "
            f"{source.numerator + source.denominator + source.percent} in the metadata "
            f"(it has {sorted(columns)})"
        )
    rows = []
    for r in results:
        level = r.get("geographicLevel")
        if level not in LEVELS:
            continue
        if not all(aggregate.get(opt, False) for opt in (r.get("filters") or {}).values()):
            continue  # a breakdown row, not the total
        loc_id = (r.get("locations") or {}).get(level)
        _, code, label = locations.get(loc_id, (level, "", ""))
        values = r.get("values") or {}
        num = _number(values.get(num_id)) if num_id else None
        den = _number(values.get(den_id)) if den_id else None
        pct = _number(values.get(pct_id)) if pct_id else None
        if num is not None and den:
            value = num / den
        elif pct is not None:
            value = pct / 100
        else:
            value = None
        period, period_end = _period(str((r.get("timePeriod") or {}).get("period", "")))
        rows.append(
            {
                "kpi_code": source.kpi_code,
                "area_level": LEVELS[level],
                "area_code": code,
                "area_name": label,
                "period": period,
                "period_end": period_end,
                "value": "" if value is None else f"{value:.6g}",
                "numerator": "" if num is None else f"{num:g}",
                "denominator": "" if den is None else f"{den:g}",
                "unit": "fraction",
                "source_name": source.source_name,
                "ees_dataset_id": source.ees_dataset_id,
                "ees_api_dataset_id": source.api_dataset_id,
                "ees_version": version,
                "note": ""
                if value is not None
                else "not supplied: suppressed or missing in the data set",
            }
        )
    return rows


def fetch_source(source: Source, fetch: Fetch = http_fetch, base: str = API_BASE) -> list[dict]:
    """Read one data set's latest national and regional totals."""
    url = f"{base}/data-sets/{source.api_dataset_id}"
    summary = fetch(url, None)
    meta = fetch(f"{url}/meta", None)
    periods = meta.get("timePeriods") or []
    if not periods:
        raise EesError(f"{source.api_dataset_id}: no time periods in the metadata")
    latest = max(periods, key=lambda p: str(p.get("period")))
    columns = {i["column"]: i["id"] for i in meta.get("indicators", [])}
    wanted = [
        i
        for i in (
            _first(columns, source.numerator),
            _first(columns, source.denominator),
            _first(columns, source.percent),
        )
        if i
    ]
    body = {
        "criteria": {
            "and": [
                {"geographicLevels": {"in": list(LEVELS)}},
                {"timePeriods": {"eq": {"period": latest["period"], "code": latest["code"]}}},
            ]
        },
        "indicators": wanted,
        "page": 1,
        "pageSize": 1000,
    }
    query = fetch(f"{url}/query", body)
    return parse(source, summary, meta, query)


def merge(existing: list[dict], fresh: list[dict]) -> list[dict]:
    """Replace the rows the refresh read (same indicator, area and year) where they are;
    keep the rest; add rows the seed did not have after the last row of their indicator."""

    def key(r: dict) -> tuple:
        return (r["kpi_code"], r["area_level"], r["area_code"], r["period"])

    new = {key(r): r for r in fresh}
    out = [new.pop(key(r), r) for r in existing]
    for r in new.values():
        last = max(
            (i for i, x in enumerate(out) if x["kpi_code"] == r["kpi_code"]), default=len(out) - 1
        )
        out.insert(last + 1, r)
    return out


def read_seed(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SEED_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: r.get(c, "") if r.get(c) is not None else "" for c in SEED_COLUMNS})
    return buf.getvalue()


def refresh(fetch: Fetch = http_fetch, seed: Path | None = None, *, write: bool = True) -> dict:
    """Refresh every source; a source that fails is reported and its rows are kept."""
    seed = seed or seed_path("benchmark_values")
    rows = read_seed(seed)
    fresh, errors = [], {}
    for source in SOURCES:
        try:
            fresh += fetch_source(source, fetch)
        except Exception as exc:  # noqa: BLE001 - no network, API change: keep the old rows
            errors[source.kpi_code] = f"{type(exc).__name__}: {exc}"
            log.warning("EES refresh of %s failed: %s", source.kpi_code, exc)
    merged = merge(rows, fresh)
    changed = to_csv(merged) != to_csv(rows)
    if write and changed:
        atomic_write_text(seed, to_csv(merged))
    return {"rows_read": len(fresh), "changed": changed, "errors": errors, "seed": str(seed)}


def enabled() -> bool:
    return env_flag("CSC_EES_REFRESH", False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m csc_pipeline.pack.ees_refresh", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the refreshed seed, write nothing"
    )
    args = parser.parse_args(argv)
    result = refresh(write=not args.dry_run)
    print(json.dumps(result, indent=2))
    return 1 if result["errors"] and not result["rows_read"] else 0


if __name__ == "__main__":
    sys.exit(main())
