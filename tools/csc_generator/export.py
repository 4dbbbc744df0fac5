"""generate(): simulate each council once, then write its consecutive nightly exports.

Determinism: every random number comes from numpy generators seeded with
(seed, council code[, night, table, fault]), nothing reads the wall clock, and the
files are written in a fixed order, so the same seed and parameters give
byte-identical files. The history does not depend on `nights`, so asking for more
nights adds earlier folders without changing the later ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from csc_pipeline import contract

from . import calibration as cal
from . import faults as flt
from .extract import stable_int
from .flavours import FLAVOURS, SOURCE_SYSTEMS, apply_flavour
from .history import TableHistory, build_tables
from .messy import file_style
from .model import simulate_cases
from .names import Council, council, council_codes
from .workdays import calendar, from_day, to_day
from .workforce import build_workforce
from .writer import FileOut, csv_bytes, manifest_bytes, sha256, write_night

DEFAULT_END_DATE = dt.date(2026, 11, 20)
DEFAULT_SEED = 20261120


@dataclass
class NightSummary:
    """What was written for one council's night (for the CLI and tests)."""

    la_code: str
    export_date: dt.date
    folder: Path
    rows: dict[str, int] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)


def _messy_level(messy: bool | float) -> float:
    if messy is True:
        return 1.0
    if messy is False or messy is None:
        return 0.0
    if messy < 0:
        raise ValueError("messy must be >= 0")
    return float(messy)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def simulate_council(
    la: Council,
    *,
    seed: int,
    referrals_per_year: float,
    years: int,
    end_date: dt.date,
    messy: float,
) -> dict[str, TableHistory]:
    """The full history of one council's contract tables up to `end_date`."""
    root = np.random.SeedSequence([seed, stable_int(la.la_code)])
    data_seq, mess_seq = root.spawn(2)
    rng, mrng = np.random.default_rng(data_seq), np.random.default_rng(mess_seq)
    horizon = to_day(end_date)
    window_start = to_day(_years_before(end_date, years))
    wc = calendar(end_date.year - years - cal.BURN_IN_YEARS - 22, end_date.year + 25)
    cases = simulate_cases(rng, wc, referrals_per_year, window_start, horizon)
    wf = build_workforce(rng, cases, referrals_per_year)
    return build_tables(rng, mrng, la, cases, wf, referrals_per_year, messy)


def _extracted_at(seed: int, la_code: str, day: int) -> dt.datetime:
    """Next day, 01:xx:xx UTC: when the nightly job ran."""
    rng = np.random.default_rng([seed, stable_int(la_code), day, 11])
    base = dt.datetime.combine(from_day(day + 1), dt.time(1, 0))
    return base + dt.timedelta(seconds=int(rng.integers(0, 3600)))


def _night_files(
    tables: dict[str, TableHistory],
    la: Council,
    day: int,
    faults: list[flt.Fault],
    seed: int,
    messy: float,
    summary: NightSummary,
    flavour: str = "canonical",
) -> list[FileOut]:
    """Every file of one night, with mess, the flavour's representation and faults applied."""
    extracts = {t.name: tables[t.name].as_at(day) for t in contract.TABLES}
    apply_flavour(extracts, flavour, seed=seed, la_code=la.la_code)
    referenced: dict[str, set[str]] = {}
    if any(f.kind == "future_date" for f in faults):
        for t in contract.TABLES:
            for c in t.columns:
                if c.references:
                    target = c.references.split(".")[0]
                    referenced.setdefault(target, set()).update(extracts[t.name].cells[c.name])
    files: list[FileOut] = []
    for t_index, table in enumerate(contract.TABLES):
        if table.name not in extracts:  # a table the flavour does not deliver
            continue
        ex = extracts[table.name]
        bom, shuffle = file_style(seed, la.la_code, day, t_index, messy)
        if shuffle:
            order = np.random.default_rng(
                [seed, stable_int(la.la_code), day, t_index, 8]
            ).permutation(len(ex.columns))
            ex.columns = [ex.columns[i] for i in order]
        mine = [f for f in faults if table.name in f.target_tables]
        for f in mine:
            if f.kind in flt.ROW_FAULTS:
                flt.apply_row_fault(ex, f, seed, la.la_code, day, referenced.get(table.name))
        data = csv_bytes(ex, bom=bom)
        out = FileOut(table.file_name, data, ex.rows, sha256(data))
        for f in mine:
            if f.kind == "missing_file":
                out.data = None
            elif f.kind == "truncated_file" and out.data is not None:
                out.data = flt.truncate(out.data, ex.rows, f)
            elif f.kind == "rowcount_mismatch":
                out.manifest_rows = flt.manifest_rows(ex.rows, f)
        summary.rows[table.name] = ex.rows
        files.append(out)
    return files


def generate(
    out_dir: Path | str,
    *,
    seed: int = DEFAULT_SEED,
    referrals_per_year: float = cal.TYPICAL_REFERRALS_PER_YEAR,
    years: int = 3,
    nights: int = 3,
    end_date: dt.date | str = DEFAULT_END_DATE,
    la_codes: Sequence[str] | str | int | None = None,
    messy: bool | float = True,
    faults: Iterable[flt.Fault | str] | Mapping[str, Any] | None = None,
    summaries: list[NightSummary] | None = None,
    flavour: str = "canonical",
) -> list[Path]:
    """Write `nights` consecutive nightly exports ending on `end_date` for each council.

    la_codes: council codes (default ["999"], Northbridge), or a number of sample
    councils (999, 998, ...). messy: True (default small rates), False (clean
    canonical output) or a multiplier of the default rates. faults: see faults.py.
    Returns the night folders written, council by council, oldest night first.
    Pass a list as `summaries` to receive per-night row counts. flavour: canonical,
    systemc, eclipse or mosaic (flavours.py): the same simulated records written the way
    that system's SSD v1.4.5 delivers them.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown flavour {flavour!r}; choose one of {', '.join(FLAVOURS)}")
    if isinstance(end_date, str):
        end_date = dt.date.fromisoformat(end_date)
    if years < 1 or nights < 1 or referrals_per_year <= 0:
        raise ValueError("years and nights must be >= 1 and referrals_per_year > 0")
    if isinstance(la_codes, str):
        la_codes = [c.strip() for c in la_codes.split(",") if c.strip()]
    codes = council_codes(la_codes) if isinstance(la_codes, int) else tuple(la_codes or ("999",))
    if len(set(codes)) != len(codes):
        raise ValueError(f"duplicate council codes in {codes}")
    level = _messy_level(messy)
    fault_list = flt.as_faults(faults)
    for f in fault_list:  # validate up front, before anything is written
        if f.kind == "duplicate_night" and f.night_index(nights) == 0:
            raise flt.FaultError(
                "duplicate_night cannot hit the first night (nothing to duplicate)"
            )
    out = Path(out_dir)
    written: list[Path] = []
    for code in codes:
        la = council(code)
        if SOURCE_SYSTEMS[flavour]:
            la = dataclasses.replace(la, source_system=SOURCE_SYSTEMS[flavour])
        tables = simulate_council(
            la,
            seed=seed,
            referrals_per_year=referrals_per_year,
            years=years,
            end_date=end_date,
            messy=level,
        )
        first = to_day(end_date) - nights + 1
        previous: NightSummary | None = None
        for i in range(nights):
            day = first + i
            date = from_day(day)
            folder = out / la.la_code / date.isoformat()
            hits = flt.for_night(fault_list, la.la_code, i, nights)
            summary = NightSummary(la.la_code, date, folder, faults=[_describe(f) for f in hits])
            dup = next((f for f in hits if f.kind == "duplicate_night"), None)
            if dup is not None and previous is not None:
                _duplicate(
                    previous.folder, folder, la, date, _extracted_at(seed, la.la_code, day), dup
                )
                summary.rows = dict(previous.rows)
                summary.faults = [_describe(dup)]
            else:
                files = _night_files(tables, la, day, hits, seed, level, summary, flavour)
                manifest = manifest_bytes(la, date, _extracted_at(seed, la.la_code, day), files)
                write_night(folder, files, manifest)
            if summaries is not None:
                summaries.append(summary)
            written.append(folder)
            previous = summary
    return written


def _duplicate(
    previous: Path,
    folder: Path,
    la: Council,
    date: dt.date,
    extracted_at: dt.datetime,
    fault: flt.Fault,
) -> None:
    """duplicate_night: see faults.py."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in list(folder.iterdir()):
        if p.is_file():
            p.unlink()
    csvs = sorted(p for p in previous.iterdir() if p.suffix == ".csv")
    for p in csvs:
        shutil.copyfile(p, folder / p.name)
    if (fault.mode or "copy") == "copy":
        shutil.copyfile(previous / contract.MANIFEST_NAME, folder / contract.MANIFEST_NAME)
        return
    old = json.loads((previous / contract.MANIFEST_NAME).read_text(encoding="utf-8"))
    files = [FileOut(name, None, e["rows"], e["sha256"]) for name, e in old["files"].items()]
    tmp = folder / (contract.MANIFEST_NAME + ".tmp")
    tmp.write_bytes(manifest_bytes(la, date, extracted_at, files))
    tmp.replace(folder / contract.MANIFEST_NAME)


def _describe(fault: flt.Fault) -> str:
    parts = [fault.kind]
    if fault.target_tables:
        parts.append(",".join(fault.target_tables))
    if fault.column:
        parts.append(fault.column)
    if fault.kind not in flt.NIGHT_FAULTS and fault.kind != "missing_file":
        parts.append(f"amount={fault.amount_or_default:g}")
    if fault.mode:
        parts.append(f"mode={fault.mode}")
    return " ".join(parts)


def timed_generate(
    out_dir: Path | str, **kwargs: Any
) -> tuple[list[Path], list[NightSummary], float]:
    """generate() plus its summaries and wall time in seconds (for the CLI)."""
    summaries: list[NightSummary] = []
    start = time.perf_counter()
    paths = generate(out_dir, summaries=summaries, **kwargs)
    return paths, summaries, time.perf_counter() - start
