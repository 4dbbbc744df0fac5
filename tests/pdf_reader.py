"""Just enough of a PDF reader to check what Chromium printed (pypdf is not a dependency).

Chromium (Skia) writes every object uncompressed at top level (no object streams), so
the catalog, page tree, outline and document info are plain dictionaries: this reads
them with the PDF syntax for objects, references and strings (PDF 32000-1, 7.3) and
refuses a file it cannot read rather than guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

OBJ = re.compile(rb"(?m)^(\d+) 0 obj\s*(.*?)\s*endobj", re.S)


def _string(raw: bytes) -> str:
    """Decode a PDF literal string (already without its outer parentheses) or hex string."""
    if raw.startswith(b"<"):
        data = bytes.fromhex(raw[1:-1].decode())
    else:
        out, i = bytearray(), 0
        escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
        while i < len(raw):
            c = raw[i : i + 1]
            if c == b"\\":
                nxt = raw[i + 1 : i + 2]
                if nxt in escapes:
                    out += escapes[nxt]
                    i += 2
                elif nxt.isdigit():
                    octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4]).group(0)
                    out.append(int(octal, 8))
                    i += 1 + len(octal)
                else:
                    out += nxt
                    i += 2
            else:
                out += c
                i += 1
        data = bytes(out)
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be")
    return data.decode("latin-1")


def _literal(body: bytes, key: bytes) -> str | None:
    """The string value of /key in a dictionary body (balanced parentheses or hex)."""
    m = re.search(rb"/" + key + rb"\s*(\(|<(?!<))", body)
    if not m:
        return None
    start = m.end() - 1
    if body[start : start + 1] == b"<":
        end = body.index(b">", start)
        return _string(body[start : end + 1])
    depth, i = 0, start
    while i < len(body):
        c = body[i : i + 1]
        if c == b"\\":
            i += 2
            continue
        if c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            if depth == 0:
                return _string(body[start + 1 : i])
        i += 1
    raise ValueError(f"unterminated string for /{key.decode()}")


def _ref(body: bytes, key: bytes) -> int | None:
    m = re.search(rb"/" + key + rb"\s+(\d+) 0 R", body)
    return int(m.group(1)) if m else None


@dataclass
class Bookmark:
    title: str
    page: int | None  # 1-based page number of its destination
    children: list[Bookmark]


@dataclass
class PdfInfo:
    pages: int
    title: str | None
    tagged: bool
    lang: str | None
    outline: list[Bookmark]

    def all_titles(self) -> list[str]:
        out: list[str] = []

        def walk(items):
            for b in items:
                out.append(b.title)
                walk(b.children)

        walk(self.outline)
        return out


def read_pdf(path: Path) -> PdfInfo:
    data = path.read_bytes()
    if not data.startswith(b"%PDF-"):
        raise ValueError(f"{path} is not a PDF")
    if b"/ObjStm" in data:
        raise ValueError(f"{path} uses object streams: this reader does not handle them")
    objects = {int(n): body for n, body in OBJ.findall(data)}
    trailer = data[data.rindex(b"trailer") :]
    root = objects[_ref(trailer, b"Root")]
    info_ref = _ref(trailer, b"Info")
    info = objects.get(info_ref, b"") if info_ref else b""
    pages_root = objects[_ref(root, b"Pages")]
    count = int(re.search(rb"/Count\s+(\d+)", pages_root).group(1))

    # page object number -> 1-based page number, walking the page tree in order
    order: list[int] = []

    def walk_pages(num: int) -> None:
        body = objects[num]
        if re.search(rb"/Type\s*/Pages\b", body):
            kids = re.search(rb"/Kids\s*\[(.*?)\]", body, re.S).group(1)
            for k in re.findall(rb"(\d+) 0 R", kids):
                walk_pages(int(k))
        else:
            order.append(num)

    walk_pages(_ref(root, b"Pages"))
    page_no = {num: i + 1 for i, num in enumerate(order)}

    def item(num: int) -> Bookmark:
        body = objects[num]
        dest = re.search(rb"/Dest\s*\[\s*(\d+) 0 R", body)
        children = []
        child = _ref(body, b"First")
        while child is not None:
            children.append(item(child))
            child = _ref(objects[child], b"Next")
        return Bookmark(
            _literal(body, b"Title") or "",
            page_no.get(int(dest.group(1))) if dest else None,
            children,
        )

    outline: list[Bookmark] = []
    out_ref = _ref(root, b"Outlines")
    if out_ref is not None:
        first = _ref(objects[out_ref], b"First")
        while first is not None:
            outline.append(item(first))
            first = _ref(objects[first], b"Next")
    marked = re.search(rb"/Marked\s+true", root) is not None
    return PdfInfo(
        pages=count,
        title=_literal(info, b"Title"),
        tagged=marked and b"/StructTreeRoot" in root,
        lang=_literal(root, b"Lang"),
        outline=outline,
    )
