"""Command line for the sample export generator.

    python -m csc_generator --out var/exports
    python -m csc_generator --out /tmp/x --councils 3 --nights 5 --years 10
    python -m csc_generator --out /tmp/x --flavour systemc     # as LiquidLogic's SSD writes it
    python -m csc_generator --out /tmp/x --clean \\
        --fault duplicate_pk=0.01 --fault missing_file=ssd_cp_visits,night=2

Fault specs are described in faults.py (`--list-faults` prints them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from csc_pipeline import contract

from . import faults as flt
from .export import DEFAULT_END_DATE, DEFAULT_SEED, timed_generate
from .flavours import FLAVOURS
from .names import council


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m csc_generator",
        description="Write sample nightly case-system exports of fictional councils.",
    )
    p.add_argument(
        "--out", type=Path, help="exports root (default: CSC_EXPORTS_ROOT or var/exports)"
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument(
        "--referrals-per-year", type=float, default=4100, help="council size (default 4100)"
    )
    p.add_argument("--years", type=int, default=3, help="years of history (default 3)")
    p.add_argument("--nights", type=int, default=3, help="consecutive nightly exports (default 3)")
    p.add_argument(
        "--end-date", type=dt.date.fromisoformat, default=DEFAULT_END_DATE, help="last export date"
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--la-codes", help="comma-separated council codes (default 999)")
    group.add_argument("--councils", type=int, help="number of sample councils: 999, 998, ...")
    mess = p.add_mutually_exclusive_group()
    mess.add_argument("--clean", action="store_true", help="canonical output, no realistic mess")
    mess.add_argument(
        "--messy", type=float, default=1.0, help="multiplier of the default mess rates"
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="e.g. duplicate_pk=0.01 (repeatable)",
    )
    p.add_argument(
        "--flavour",
        choices=FLAVOURS,
        default="canonical",
        help="how the night is written: the contract (canonical) or a system's SSD v1.4.5",
    )
    p.add_argument("--list-faults", action="store_true", help="describe the fault kinds and exit")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list_faults:
        print(flt.__doc__)
        return 0
    if args.out is None:
        from csc_pipeline.config import settings

        args.out = settings().exports_root
    codes: Sequence[str] | int | None = args.councils
    if args.la_codes:
        codes = [c.strip() for c in args.la_codes.split(",") if c.strip()]
    try:
        faults = [flt.Fault.parse(s) for s in args.fault]
        _, summaries, seconds = timed_generate(
            args.out,
            seed=args.seed,
            referrals_per_year=args.referrals_per_year,
            years=args.years,
            nights=args.nights,
            end_date=args.end_date,
            la_codes=codes,
            messy=0.0 if args.clean else args.messy,
            faults=faults,
            flavour=args.flavour,
        )
    except (flt.FaultError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for s in summaries:
        total = sum(s.rows.values())
        print(f"{s.folder}  {council(s.la_code).la_name}: {total:,} rows", end="")
        print(f"  faults: {'; '.join(s.faults)}" if s.faults else "")
    if summaries:
        last = summaries[-1]
        width = max(len(t) for t in contract.TABLE_NAMES)
        print(f"\nrows on {last.export_date} ({last.la_code}):")
        for name in contract.TABLE_NAMES:
            print(f"  {name:<{width}} {last.rows.get(name, 0):>9,}")
    print(f"\n{len(summaries)} night folder(s) in {seconds:.1f} s")
    return 0
