"""England, regional and statistical-neighbour comparators for the pack.

Read from the dbt seeds in the published warehouse (`seeds.benchmark_values`,
`seeds.statistical_neighbours`, `seeds.statistical_neighbour_values`); a warehouse built
before the seeds existed falls back to the CSV files in dbt_project/seeds/benchmarks/,
so a pack can still be produced for an old night. Benchmarks are annual: each carries
its year and is drawn as a labelled rule, never as a monthly value.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from csc_pipeline.config import DBT_PROJECT_DIR
from csc_pipeline.pack.catalogue import to_float
from csc_pipeline.warehouse import Connection, table_exists

SEED_DIR = DBT_PROJECT_DIR / "seeds" / "benchmarks"


@dataclass(frozen=True)
class Benchmark:
    kpi_code: str
    label: str  # "England", "Statistical neighbours"
    period: str  # "2024-25"
    value: float | None  # None = not supplied
    detail: str  # e.g. "10 of 10 neighbours", the note
    source: str


def _rows(con: Connection, table: str) -> list[dict]:
    if table_exists(con, "seeds", table):
        cur = con.execute(f"select * from seeds.{table}")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    path = SEED_DIR / f"{table}.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(fh)]


@dataclass(frozen=True)
class Benchmarks:
    values: list[dict]
    neighbours: list[dict]
    neighbour_values: list[dict]
    la_code: str

    @classmethod
    def load(cls, con: Connection, la_code: str) -> Benchmarks:
        return cls(
            values=_rows(con, "benchmark_values"),
            neighbours=[
                r for r in _rows(con, "statistical_neighbours") if str(r["la_code"]) == la_code
            ],
            neighbour_values=_rows(con, "statistical_neighbour_values"),
            la_code=la_code,
        )

    def england(self, kpi_code: str) -> Benchmark | None:
        """The latest England value of an indicator (or its "not supplied" row)."""
        rows = [
            r for r in self.values if r["kpi_code"] == kpi_code and r["area_level"] == "national"
        ]
        if not rows:
            return None
        row = max(rows, key=lambda r: str(r["period_end"]))
        return Benchmark(
            kpi_code,
            "England",
            str(row["period"]),
            to_float(row["value"]),
            row.get("note") or "",
            row.get("source_name") or "",
        )

    def neighbour_average(self, kpi_code: str) -> Benchmark | None:
        """Mean of the neighbours' values in the latest year any of them has."""
        codes = {str(r["neighbour_la_code"]) for r in self.neighbours}
        if not codes:
            return None
        rows = [
            r
            for r in self.neighbour_values
            if r["kpi_code"] == kpi_code
            and str(r["neighbour_la_code"]) in codes
            and to_float(r["value"]) is not None
        ]
        if not rows:
            return Benchmark(kpi_code, "Statistical neighbours", "", None, "", "")
        latest = max(str(r["period_end"]) for r in rows)
        year = [r for r in rows if str(r["period_end"]) == latest]
        mean = sum(to_float(r["value"]) for r in year) / len(year)
        sources = sorted({r.get("source") or "" for r in year})
        return Benchmark(
            kpi_code,
            "Statistical neighbours",
            str(year[0]["period"]),
            mean,
            f"mean of {len(year)} of {len(codes)} neighbours",
            "; ".join(s for s in sources if s),
        )

    @property
    def illustrative_neighbours(self) -> bool:
        text = " ".join(str(r.get("source") or "") for r in self.neighbours)
        return "illustrative" in text or "fictional" in text

    def sources(self) -> list[dict]:
        """One row per benchmark data set, for the appendix."""
        seen: dict[tuple, dict] = {}
        for r in self.values:
            key = (r.get("source_name"), r.get("ees_dataset_id"), str(r["period"]))
            entry = seen.setdefault(
                key,
                {
                    "source": r.get("source_name") or "",
                    "dataset_id": r.get("ees_dataset_id") or "",
                    "api_dataset_id": r.get("ees_api_dataset_id") or "",
                    "version": r.get("ees_version") or "shipped value (release)",
                    "period": str(r["period"]),
                    "kpis": [],
                },
            )
            if r["kpi_code"] not in entry["kpis"]:
                entry["kpis"].append(r["kpi_code"])
        return list(seen.values())


def seed_path(name: str) -> Path:
    return SEED_DIR / f"{name}.csv"
