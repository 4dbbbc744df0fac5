"""Print the pack's HTML to a tagged, bookmarked PDF with headless Chromium.

Debian's `chromium` package (installed by `make`; Playwright's own browser download is
not available offline), driven by Playwright. The page is opened from file:// with
every other request blocked and counted: a pack that tried to fetch anything is
refused, so "self-contained" is checked on every print, not only in the tests.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from csc_pipeline.warehouse import atomic_replace

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
FOOTER = (
    '<div style="font-size:7pt;width:100%;text-align:center;font-family:Arial,sans-serif">'
    'OFFICIAL-SENSITIVE · {label} · page <span class="pageNumber"></span> of '
    '<span class="totalPages"></span></div>'
)


class PdfError(RuntimeError):
    """The page asked for something outside the file, or Chromium failed."""


class PdfMissing(PdfError):
    """No chromium binary on this machine (a set-up step, not a data problem)."""


@dataclass
class PageCheck:
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise PdfMissing(
            "chromium is not installed: run `make setup` (it installs Debian's chromium "
            "package) or `apt-get install -y chromium fonts-liberation`"
        )
    return path


def is_local(url: str) -> bool:
    return (
        url.startswith("file://")
        or url.startswith("data:")
        or url.startswith("about:")
        or url.startswith("http://127.0.0.1")
        or url.startswith("https://127.0.0.1")
    )


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


def open_blocked(browser, url: str, check: PageCheck):
    """A page at url with every non-local request aborted and recorded."""
    page = browser.new_page()

    def route(r):
        if is_local(r.request.url):
            r.continue_()
        else:
            check.blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: msg.type == "error" and check.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: check.console_errors.append(str(exc)))
    page.goto(url, wait_until="load")
    return page


def print_pdf(html_path: Path, pdf_path: Path, footer_label: str) -> PageCheck:
    """Print html_path to pdf_path (A4 landscape, tagged, with an outline from the headings)."""
    from playwright.sync_api import sync_playwright

    check = PageCheck()
    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = open_blocked(browser, html_path.resolve().as_uri(), check)
            page.emulate_media(media="print")
            page.pdf(
                path=str(tmp),
                format="A4",
                landscape=True,
                print_background=True,
                prefer_css_page_size=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=FOOTER.format(label=_escape(footer_label)),
                margin={"top": "12mm", "bottom": "14mm", "left": "12mm", "right": "12mm"},
                tagged=True,
                outline=True,
            )
        finally:
            browser.close()
    if check.blocked:
        tmp.unlink(missing_ok=True)
        raise PdfError(
            f"the pack asked for {len(check.blocked)} outside resource(s): {check.blocked[:3]}"
        )
    atomic_replace(tmp, pdf_path)
    return check


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
