"""Realistic variation that is *not* a fault, and the formatting of values as text.

Real case systems are inconsistent in ways the pipeline must simply accept (see
"Dates" and "Flags" in export-contract.md): some rows carry dates as
`YYYY-MM-DD HH:MM:SS` or `DD/MM/YYYY`, flags as 1/0, true/false or Yes/No, migrated
people carry legacy sex codes 1/2/0/9, audits from the old audit tool carry grades
1-4 or "Adequate"; files may start with a UTF-8 BOM and list their columns in another
order. All of it is decided per row (or per file) from stable random numbers, so a row
looks the same on every night, and scaled by one `messy` factor: 0 gives clean
canonical output, 1 the default small rates.

Rates at messy=1 (per row unless stated):
- dates in another accepted format: 1.5% of rows (half each alternative)
- flags spelt 1/0, true/false or Yes/No: 3% of rows (a third each)
- legacy sex codes: 5% of people
- legacy audit grades (1-4, and "Adequate" for a third of REQUIRES_IMPROVEMENT):
  50% of audits completed in the first year of the window, 1% afterwards
- UTF-8 BOM: 15% of files; columns shuffled: 10% of files (per table and night)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from csc_pipeline import contract

from .workdays import FAR_DAY, NULL_DAY

DATE_ALT_RATE = 0.015
FLAG_ALT_RATE = 0.03
SEX_LEGACY_RATE = 0.05
AUDIT_LEGACY_RATE_EARLY = 0.5
AUDIT_LEGACY_RATE = 0.01
BOM_RATE = 0.15
SHUFFLE_RATE = 0.10

FLAG_SPELLINGS = (("Y", "N"), ("1", "0"), ("true", "false"), ("Yes", "No"))
SEX_TO_LEGACY = {"M": "1", "F": "2", "U": "0"}
GRADE_LEGACY = ("1", "2", "3", "4")


@dataclass(frozen=True)
class RowStyle:
    """How each row of a table spells its dates and flags (stable across nights)."""

    date: np.ndarray  # 0 = ISO, 1 = ISO with 00:00:00, 2 = DD/MM/YYYY
    flag: np.ndarray  # index into FLAG_SPELLINGS

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, messy: float) -> RowStyle:
        u, v = rng.random(n), rng.random(n)
        date = np.where(u < DATE_ALT_RATE * messy, np.where(v < 0.5, 1, 2), 0)
        w, x = rng.random(n), rng.random(n)
        flag = np.where(w < FLAG_ALT_RATE * messy, 1 + (x * 3).astype(np.int64), 0)
        return cls(date.astype(np.int8), flag.astype(np.int8))


def dates(days: np.ndarray, style: np.ndarray | None = None) -> np.ndarray:
    """Day numbers as text; NULL_DAY and FAR_DAY (no date / not yet) become ""."""
    days = np.asarray(days, dtype=np.int64)
    missing = (days <= NULL_DAY) | (days >= FAR_DAY)
    safe = np.where(missing, 0, days).astype("datetime64[D]")
    iso = np.datetime_as_string(safe, unit="D").astype("U10")
    out = iso.astype(object)
    if style is not None:
        alt = np.flatnonzero((style == 1) & ~missing)
        out[alt] = np.char.add(iso[alt], " 00:00:00").astype(object)
        dmy = np.flatnonzero((style == 2) & ~missing)
        if dmy.size:
            chars = iso[dmy].view("U1").reshape(-1, 10)
            sep = np.full((dmy.size, 1), "/")
            parts = [chars[:, 8:10], sep, chars[:, 5:7], sep, chars[:, 0:4]]
            out[dmy] = np.concatenate(parts, axis=1).copy().view("U10").ravel().astype(object)
    out[missing] = ""
    return out


def flags(
    values: np.ndarray, style: np.ndarray | None = None, known: np.ndarray | None = None
) -> np.ndarray:
    """Booleans as Y/N (or the row's variant spelling); unknown rows become ""."""
    values = np.asarray(values, dtype=bool)
    s = np.zeros(values.size, dtype=np.int8) if style is None else style
    yes = np.array([f[0] for f in FLAG_SPELLINGS], dtype=object)[s]
    no = np.array([f[1] for f in FLAG_SPELLINGS], dtype=object)[s]
    out = np.where(values, yes, no)
    if known is not None:
        out = np.where(known, out, "")
    return out


def flags_na(values: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Y/N/NA practice-standard answers (NA sometimes spelt N/A in variant rows)."""
    out = np.where(values == "Y", flags(np.ones(values.size, bool), style), values)
    out = np.where(values == "N", flags(np.zeros(values.size, bool), style), out)
    return np.where((values == "NA") & (style > 0), "N/A", out)


def sex_codes(rng: np.random.Generator, sex: np.ndarray, messy: float) -> np.ndarray:
    """M/F/U, or the legacy 1/2/0/9 on migrated records."""
    legacy = rng.random(sex.size) < SEX_LEGACY_RATE * messy
    code = np.array([SEX_TO_LEGACY.get(s, "0") for s in ("M", "F", "U")], dtype=object)
    idx = np.select([sex == "M", sex == "F"], [0, 1], 2)
    unknown = np.where(rng.random(sex.size) < 0.5, "0", "9")
    old = np.where(idx == 2, unknown, code[idx])
    return np.where(legacy, old, sex)


def grades(values: np.ndarray, legacy: np.ndarray, adequate: np.ndarray) -> np.ndarray:
    """Grades 0-3 as contract codes, or in the old tool's spelling; -1 becomes ""."""
    canon = np.array(contract.AUDIT_GRADES, dtype=object)
    old = np.array(GRADE_LEGACY, dtype=object)
    v = np.clip(values, 0, 3)
    out = np.where(legacy, old[v], canon[v])
    out = np.where(legacy & adequate & (v == 2), "Adequate", out)
    return np.where(values < 0, "", out)


def file_style(
    seed: int, la_code: str, export_day: int, table_index: int, messy: float
) -> tuple[bool, bool]:
    """(write a BOM, shuffle the columns) for one file, stable for its night."""
    rng = np.random.default_rng([seed, int(la_code), export_day, table_index, 7])
    return bool(rng.random() < BOM_RATE * messy), bool(rng.random() < SHUFFLE_RATE * messy)
