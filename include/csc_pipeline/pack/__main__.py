"""python -m csc_pipeline.pack --la 999 [--month 2026-10] [--no-pdf] [--internal]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from csc_pipeline.pack import PackError, build_pack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m csc_pipeline.pack",
        description="Render the Improvement Board pack (HTML and PDF) of one council and month "
        "from its published warehouse.",
    )
    parser.add_argument("--la", required=True, help="council (DfE LA code), e.g. 999")
    parser.add_argument("--month", help="YYYY-MM (default: the latest complete month)")
    parser.add_argument("--warehouse", type=Path, help="published DuckDB file (default: settings)")
    parser.add_argument("--no-pdf", action="store_true", help="HTML only")
    parser.add_argument(
        "--internal",
        action="store_true",
        help="do not suppress counts of 1-5 (for use inside the secure zone only)",
    )
    args = parser.parse_args(argv)

    from csc_pipeline.config import settings

    cfg = settings()
    if args.warehouse:
        warehouse = args.warehouse
    else:
        from csc_pipeline.pack.paths import warehouse_for

        warehouse = warehouse_for(args.la, cfg)
    try:
        result = build_pack(
            warehouse,
            args.la,
            args.month,
            var_dir=cfg.var_dir,
            pdf=not args.no_pdf,
            suppress_small=not args.internal,
        )
    except PackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Board pack {result.la_code} {result.month} (as at {result.as_at}):")
    print(f"  HTML {result.html}")
    if result.pdf:
        print(f"  PDF  {result.pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
