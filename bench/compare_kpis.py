"""Compare the kpi_monthly files of two bench runs (issue 11: no figure changes).

    .venv/bin/python bench/compare_kpis.py before after

For every `<size>_night<N>` present in both `bench/kpi_monthly/<label>/` folders: rows
are matched on kpi_monthly_id and compared on every column the BEFORE file has (columns
added since, e.g. a reason for a figure not supplied, are listed, not compared). Exit 1
when any figure differs or a row is missing on either side.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

KPI_DIR = Path(__file__).resolve().parent / "kpi_monthly"


def _files(label: str) -> dict[str, Path]:
    out = {}
    for path in sorted((KPI_DIR / label).glob("*.csv*")):
        out[path.name.split(".csv")[0]] = path
    return out


def compare(before: Path, after: Path) -> tuple[int, list[str]]:
    con = duckdb.connect()
    opts = "all_varchar = true, quote = '\"', sample_size = -1"
    con.execute(f"create table b as select * from read_csv('{before}', {opts})")
    con.execute(f"create table a as select * from read_csv('{after}', {opts})")
    cols_b = [r[0] for r in con.execute("describe b").fetchall()]
    cols_a = {r[0] for r in con.execute("describe a").fetchall()}
    notes = [f"columns only after: {sorted(cols_a - set(cols_b))}"] if cols_a - set(cols_b) else []
    common = [c for c in cols_b if c in cols_a]
    if len(common) < len(cols_b):
        notes.append(f"columns only before: {sorted(set(cols_b) - cols_a)}")
    diff = " or ".join(f'b."{c}" is distinct from a."{c}"' for c in common if c != "kpi_monthly_id")
    n_diff = con.execute(
        f"select count(*) from b join a using (kpi_monthly_id) where {diff}"
    ).fetchone()[0]
    only_b = con.execute("select count(*) from b anti join a using (kpi_monthly_id)").fetchone()[0]
    only_a = con.execute("select count(*) from a anti join b using (kpi_monthly_id)").fetchone()[0]
    rows = con.execute("select count(*) from b").fetchone()[0]
    notes.append(
        f"{rows:,} rows before; {n_diff} differ, {only_b} only before, {only_a} only after"
    )
    if only_a:
        new = con.execute(
            "select kpi_code, count(*) from a anti join b using (kpi_monthly_id) group by 1 order by 1"
        ).fetchall()
        notes.append(f"rows only after by KPI: {dict(new)}")
    if n_diff:
        sample = con.execute(
            f"select b.kpi_monthly_id from b join a using (kpi_monthly_id) where {diff} limit 5"
        ).fetchall()
        notes.append(f"e.g. {[r[0] for r in sample]}")
    return n_diff + only_b + only_a, notes


def main(argv: list[str]) -> int:
    before, after = (argv + ["before", "after"])[:2]
    b, a = _files(before), _files(after)
    bad = 0
    for name in sorted(set(b) & set(a)):
        n, notes = compare(b[name], a[name])
        bad += n
        verdict = "IDENTICAL" if not n else "DIFFERENT"
        print(f"{name}: {verdict} - " + "; ".join(notes))
    for name in sorted(set(b) ^ set(a)):
        print(f"{name}: only in {'before' if name in b else 'after'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
