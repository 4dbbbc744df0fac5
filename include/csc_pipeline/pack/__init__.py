"""The monthly Improvement Board pack (docs/spec/board-pack.md).

    build_pack(warehouse, la_code, month=None, out_root=...) -> PackResult

Reads the council's published warehouse read-only (`assemble`), writes one
self-contained HTML file (`render`: no script, no web font, charts as inline SVG) and
prints it to a tagged, bookmarked PDF with headless Chromium (`pdf`). Files:

    <var>/packs/<la_code>/<YYYY-MM>/board-pack_<la_code>_<YYYY-MM>.html|.pdf

written atomically (a half-written pack never replaces a good one). Monthly packs are
the Board's record and are never pruned. On demand for any month:

    python -m csc_pipeline.pack --la 999 --month 2026-10
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from csc_pipeline.pack.assemble import PackError, assemble
from csc_pipeline.warehouse import atomic_write_text

log = logging.getLogger(__name__)

__all__ = ["PackError", "PackResult", "build_pack", "latest_outputs", "pack_dir"]


@dataclass(frozen=True)
class PackResult:
    la_code: str
    month: str  # YYYY-MM
    as_at: str
    html: Path
    pdf: Path | None
    seconds: float

    def as_dict(self) -> dict:
        return {
            "la_code": self.la_code,
            "month": self.month,
            "as_at": self.as_at,
            "html": str(self.html),
            "pdf": str(self.pdf) if self.pdf else "",
            "seconds": round(self.seconds, 1),
        }


def pack_dir(var_dir: Path, la_code: str, month: str) -> Path:
    return var_dir / "packs" / la_code / month


def build_pack(
    warehouse: Path,
    la_code: str,
    month: str | None = None,
    *,
    var_dir: Path,
    pdf: bool = True,
    suppress_small: bool = True,
) -> PackResult:
    """Assemble, render and print the pack of one council and month."""
    from csc_pipeline.pack.render import render_html

    t0 = time.perf_counter()
    data = assemble(warehouse, la_code, month, suppress_small=suppress_small)
    label = f"{data.month:%Y-%m}"
    out = pack_dir(var_dir, la_code, label)
    stem = f"board-pack_{la_code}_{label}" + ("" if suppress_small else "_internal")
    html_path = out / f"{stem}.html"
    atomic_write_text(html_path, render_html(data))
    pdf_path = None
    if pdf:
        from csc_pipeline.pack.pdf import PdfMissing, chromium_path, print_pdf

        try:
            chromium_path()
        except PdfMissing as exc:
            # A deployment without the PDF printer: the HTML pack (the primary, fully
            # self-contained file) is written and the night stays a success; the error
            # is logged and `make run` prints "PDF: not printed".
            log.error("board pack %s %s: no PDF: %s", la_code, label, exc)
        else:
            pdf_path = out / f"{stem}.pdf"
            print_pdf(
                html_path,
                pdf_path,
                f"{data.council_name} · {data.month:%B %Y} · as at {data.as_at:%Y-%m-%d}",
            )
    result = PackResult(
        la_code, label, data.as_at.isoformat(), html_path, pdf_path, time.perf_counter() - t0
    )
    log.info("board pack %s %s: %s (%.1fs)", la_code, label, html_path, result.seconds)
    return result


def latest_outputs(var_dir: Path, la_code: str) -> dict:
    """The newest pack (HTML, PDF) and the newest night's data-quality page of a council."""
    import re

    out = {"pack_month": "", "pack_html": "", "pack_pdf": "", "dq_night": "", "dq_page": ""}
    packs = var_dir / "packs" / la_code
    months = (
        sorted(p for p in packs.iterdir() if re.fullmatch(r"\d{4}-\d{2}", p.name))
        if packs.is_dir()
        else []
    )
    if months:
        stem = f"board-pack_{la_code}_{months[-1].name}"
        html, pdf = months[-1] / f"{stem}.html", months[-1] / f"{stem}.pdf"
        if html.exists():
            out.update(pack_month=months[-1].name, pack_html=str(html))
            out["pack_pdf"] = str(pdf) if pdf.exists() else ""
    pages = var_dir / "dq_reports" / la_code
    nights = sorted(p for p in pages.glob("*/index.html")) if pages.is_dir() else []
    if nights:
        out.update(dq_night=nights[-1].parent.name, dq_page=str(nights[-1]))
    return out
