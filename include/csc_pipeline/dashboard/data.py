"""What the dashboard reads: the PUBLISHED warehouse, read-only, never the working copy.

Each query opens a fresh read-only DuckDB connection to the published file (publish
replaces the file wholesale, so a long-lived connection would keep reading the old
night) and closes it. The worklists are the alerts' own record lists
(`alerts.digest.collect`): the dashboard and the digests show the same records, each
once, from the same marts' flags — one definition, two views.

Aggregates (KPI trends, team figures, data-quality counts) come from `marts`, `dq` and
`meta`. Child-level rows (case-system person ids, workers' names) come from the schema
`restricted` through the worklists only, and the pages hand them only to viewers whose
role allows the team (access.Viewer.may_see_team).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from csc_pipeline.config import SAMPLE_LA_CODE, settings
from csc_pipeline.warehouse import connect


@dataclass(frozen=True)
class Source:
    """One council's published warehouse (and the var dir holding its quarantine notes)."""

    la_code: str
    warehouse: Path
    var_dir: Path

    @property
    def exists(self) -> bool:
        return self.warehouse.is_file()

    @property
    def version(self) -> float:
        """Changes when a night is published (the file is replaced): the cache key."""
        try:
            return self.warehouse.stat().st_mtime
        except OSError:
            return 0.0


def sources() -> list[Source]:
    """Every council the deployment serves (as the pipeline finds them; on a host with
    no export folders, CSC_LA_CODES, else CSC_DASHBOARD_LA_CODE or the sample council).

    CSC_DASHBOARD_WAREHOUSE overrides the path (one council, or containing {la_code}).
    """
    from csc_pipeline.councils import council_codes

    cfg = settings()
    try:
        codes = council_codes(cfg)  # the pipeline's own answer (export folders, profiles)
    except Exception:  # noqa: BLE001 - a dashboard host may have no exports or profiles
        codes = []
    codes = codes or list(
        cfg.la_codes or [os.environ.get("CSC_DASHBOARD_LA_CODE") or SAMPLE_LA_CODE]
    )
    override = os.environ.get("CSC_DASHBOARD_WAREHOUSE")
    out = []
    for code in codes:
        if override:
            path = Path(override.format(la_code=code))
        else:
            path = cfg.warehouse_for(code, multi=len(codes) > 1)
        out.append(Source(code, path, cfg.var_dir))
    return out


def query(source: Source, sql: str, params: list | dict | None = None) -> pd.DataFrame:
    with connect(source.warehouse, read_only=True) as con:
        return con.execute(sql, params or []).df()


def relations(source: Source) -> set[str]:
    df = query(
        source, "select table_schema || '.' || table_name as r from information_schema.tables"
    )
    return set(df["r"])


# --- KPIs ----------------------------------------------------------------------------

# select *: is_available / unavailable_reason exist from the KPI-catalogue marts on
KPIS = "select * from marts.dim_kpi order by kpi_code"

KPI_SERIES = """
select month_start, team_id, team_name, numerator, denominator, value, target, rag,
       is_complete_month, unavailable_reason
from marts.kpi_monthly
where kpi_code = $kpi and (team_id is not distinct from $team)
order by month_start
"""

TEAM_KPIS = """
with ranked as (
    select *, row_number() over (partition by kpi_code order by month_start desc) as rn
    from marts.kpi_monthly
    where team_id = $team and is_complete_month
)
select kpi_code, kpi_name, month_start, numerator, denominator, value, value_unit, target,
       higher_is_better, rag, unavailable_reason
from ranked where rn = 1 order by kpi_code
"""

TEAMS = """
select team_id, team_name, service_area_id, service_area_name from marts.dim_team order by team_id
"""

AS_AT = "select strftime(max(export_date), '%Y-%m-%d') as d from meta.nights where status = 'published' and la_code = ?"


def kpis(source: Source) -> pd.DataFrame:
    return query(source, KPIS)


def kpi_series(source: Source, kpi: str, team: str | None = None) -> pd.DataFrame:
    return query(source, KPI_SERIES, {"kpi": kpi, "team": team})


def team_kpis(source: Source, team: str) -> pd.DataFrame:
    return query(source, TEAM_KPIS, {"team": team})


def teams(source: Source) -> pd.DataFrame:
    return query(source, TEAMS)


def as_at(source: Source) -> str | None:
    return query(source, AS_AT, [source.la_code])["d"].iloc[0]


def benchmarks(source: Source) -> pd.DataFrame:
    """England's latest value and the statistical-neighbour average of every indicator,
    with their year: the board pack's own reading of the benchmark seeds
    (pack.benchmarks), so the pack and the dashboard quote the same comparators."""
    from csc_pipeline.pack.benchmarks import Benchmarks

    rows = []
    with connect(source.warehouse, read_only=True) as con:
        book = Benchmarks.load(con, source.la_code)
        codes = list(con.execute("select kpi_code from marts.dim_kpi").fetchall())
    for (code,) in codes:
        for b in (book.england(code), book.neighbour_average(code)):
            if b is not None and b.value is not None:
                rows.append(
                    {"kpi_code": code, "comparator": b.label, "period": b.period, "value": b.value}
                )
    return pd.DataFrame(rows, columns=["kpi_code", "comparator", "period", "value"])


# --- worklists (the alerts' records) -------------------------------------------------


def worklists(source: Source):
    """The night's records per team (alerts.digest.NightRecords), as the digests list them."""
    from csc_pipeline.alerts.digest import collect
    from csc_pipeline.alerts.settings import alert_settings

    night = as_at(source)
    if night is None:
        return None
    return collect(source.warehouse, source.la_code, night, alert_settings())


WORKLIST_COLUMNS = {
    "record_type": "Record",
    "record_id": "Record id",
    "person_id": "Person id (case system)",
    "worker": "Worker",
    "date_label": "Date",
    "date_value": "On",
    "detail": "Detail",
    "also_dq": "Also a data-quality issue",
}


def worklist_frame(records: list[dict], section: str) -> pd.DataFrame:
    rows = []
    for r in records:
        if r["section"] != section:
            continue
        worker = r.get("worker_id") or ""
        if r.get("worker_name") and worker:
            worker = f"{r['worker_name']} ({worker})"
        rows.append(
            {
                "record_type": r["record_type"],
                "record_id": r["record_id"],
                "person_id": r.get("person_id") or "",
                "worker": worker,
                "date_label": r["date_label"],
                "date_value": r["date_value"],
                "detail": r["detail"] or "",
                "also_dq": "; ".join(f"{i['rule_id']}: {i['detail']}" for i in r["dq"])
                if section != "dq_issue"
                else "",
            }
        )
    return pd.DataFrame(rows, columns=list(WORKLIST_COLUMNS)).rename(columns=WORKLIST_COLUMNS)


# --- data quality --------------------------------------------------------------------

DQ_OPEN_BY_RULE_TEAM = """
select i.rule_id, i.severity, coalesce(i.team_id, '(no team)') as team_id, count(*) as open_issues,
       count(*) filter (where cast(i.first_seen as date) = cast($as_at as date)) as new_tonight
from dq.dq_issues as i
where i.resolved_on is null and la_code = $la
group by all order by open_issues desc, rule_id, team_id
"""

DQ_OVER_TIME = """
with nights as (
    select export_date from meta.nights where la_code = $la and status = 'published'
)
select n.export_date as night,
       count(*) filter (where cast(i.first_seen as date) = n.export_date) as new,
       count(*) filter (where cast(i.resolved_on as date) = n.export_date) as resolved,
       count(*) filter (where cast(i.first_seen as date) <= n.export_date
                        and (i.resolved_on is null or cast(i.resolved_on as date) > n.export_date)) as open
from nights as n
left join dq.dq_issues as i on i.la_code = $la
group by n.export_date order by n.export_date
"""


def dq_by_rule_team(source: Source) -> pd.DataFrame:
    return query(source, DQ_OPEN_BY_RULE_TEAM, {"la": source.la_code, "as_at": as_at(source)})


def dq_over_time(source: Source) -> pd.DataFrame:
    return query(source, DQ_OVER_TIME, {"la": source.la_code})


def quarantined(source: Source) -> pd.DataFrame:
    """Quarantined nights with their reason: the quarantine notes kept beside the
    warehouse (var/quarantine/<la>/<night>.json), newest first."""
    folder = source.var_dir / "quarantine" / source.la_code
    rows = []
    for path in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []:
        try:
            note = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        rows.append(
            {
                "night": note.get("export_date", path.stem),
                "stage": note.get("stage"),
                "quarantined_at": note.get("quarantined_at"),
                "reason": note.get("message"),
                "findings": len(note.get("findings") or []),
            }
        )
    return pd.DataFrame(rows, columns=["night", "stage", "quarantined_at", "reason", "findings"])


# --- pipeline health -----------------------------------------------------------------

NIGHTS = """
select la_code, strftime(export_date, '%Y-%m-%d') as night, status, landed_at, validated_at,
       published_at, message
from meta.nights order by export_date desc
"""


def nights(source: Source) -> pd.DataFrame:
    """Every night the council's warehouse knows, with its stage timestamps and the
    seconds between them (landed -> validated -> published; a stage the pipeline did
    not time is blank)."""
    df = query(source, NIGHTS)
    for col in ("landed_at", "validated_at", "published_at"):
        df[col] = pd.to_datetime(df[col])
    df["validate_s"] = (df["validated_at"] - df["landed_at"]).dt.total_seconds()
    df["build_publish_s"] = (
        df["published_at"] - df["validated_at"].fillna(df["landed_at"])
    ).dt.total_seconds()
    return df


def health(all_sources: list[Source]) -> pd.DataFrame:
    """One row per council: nights published, last success, failures (quarantined)."""
    rows = []
    for source in all_sources:
        row = {"la_code": source.la_code, "warehouse": str(source.warehouse)}
        if not source.exists:
            rows.append({**row, "nights_published": 0, "last_published_night": None})
            continue
        df = nights(source)
        published = df[df["status"] == "published"]
        q = quarantined(source)
        rows.append(
            {
                **row,
                "nights_published": int(len(published)),
                "last_published_night": published["night"].max() if len(published) else None,
                "last_success_at": published["published_at"].max() if len(published) else None,
                "quarantined_nights": int(len(q)),
                "median_landed_to_published_s": (
                    (published["published_at"] - published["landed_at"]).dt.total_seconds().median()
                    if len(published)
                    else None
                ),
                "as_of": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            }
        )
    return pd.DataFrame(rows)


# --- Airflow's own record of the runs (stage durations, failures) ---------------------

TASK_INSTANCES = """
select run_id, task_id, map_index, state, start_date, end_date, duration, try_number
from task_instance where dag_id = :dag order by start_date desc limit 2000
"""


def airflow_url() -> str | None:
    """The Airflow metadata DB (read-only use): CSC_DASHBOARD_AIRFLOW_DB, else Airflow's
    own AIRFLOW__DATABASE__SQL_ALCHEMY_CONN. None: the page shows the warehouse's view."""
    return os.environ.get("CSC_DASHBOARD_AIRFLOW_DB") or os.environ.get(
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
    )


def task_instances(dag_id: str = "csc_nightly") -> pd.DataFrame:
    """Every task instance of the nightly DAG (newest first), from Airflow's metadata DB:
    the stage durations and failures as Airflow saw them."""
    url = airflow_url()
    columns = [
        "run_id",
        "task_id",
        "map_index",
        "state",
        "start_date",
        "end_date",
        "duration",
        "try_number",
    ]
    if not url:
        return pd.DataFrame(columns=columns)
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            return pd.read_sql(sa.text(TASK_INSTANCES), con, params={"dag": dag_id})
    except sa.exc.SQLAlchemyError:
        return pd.DataFrame(columns=columns)
    finally:
        engine.dispose()


def stage_durations(tis: pd.DataFrame) -> pd.DataFrame:
    """Per task (stage): runs, median and longest seconds, successes and failures."""
    if tis.empty:
        return pd.DataFrame(columns=["stage", "runs", "median_s", "max_s", "success", "failed"])
    grouped = tis.groupby("task_id")
    out = pd.DataFrame(
        {
            "runs": grouped.size(),
            "median_s": grouped["duration"].median().round(1),
            "max_s": grouped["duration"].max().round(1),
            "success": grouped["state"].apply(lambda s: int((s == "success").sum())),
            "failed": grouped["state"].apply(lambda s: int((s == "failed").sum())),
        }
    )
    return out.reset_index().rename(columns={"task_id": "stage"}).sort_values("stage")
