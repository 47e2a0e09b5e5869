"""The text of a resolution as staff receive it: Markdown or plain text, Word (.docx), text PDF.

Every reader returns plain text with one paragraph per block (blank line between), which is
what the clause parser reads. A PDF without a text layer (a scan) is refused with a clear
message rather than read as an empty resolution.
"""

from __future__ import annotations

from pathlib import Path

from merger.errors import BadInput, DataError
from merger.i18n import _

TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".text")
SUFFIXES = (*TEXT_SUFFIXES, ".docx", ".pdf")


def read_text(path: Path) -> str:
    """The document's text; BadInput/DataError say why it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise DataError(_("no resolution file at {path}").format(path=path))
    suffix = path.suffix.casefold()
    if suffix not in SUFFIXES:
        raise BadInput(_("{name}: a resolution is Markdown or text ({join}), .docx or a text .pdf").format(name=path.name, join=', '.join(TEXT_SUFFIXES)))
    try:
        if suffix == ".docx":
            return _docx(path)
        if suffix == ".pdf":
            return _pdf(path)
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(_("{name} is not UTF-8 text; save it as UTF-8").format(name=path.name)) from None
    except OSError as exc:
        raise BadInput(_("cannot read {path}: {value}").format(path=path, value=exc.strerror or exc)) from None


def _docx(path: Path) -> str:
    """Paragraphs and table cells in document order (the number and date sit in a table)."""
    import zipfile

    try:
        import docx
        from docx.opc.exceptions import OpcError
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError:  # pragma: no cover - a core dependency
        raise BadInput(_("reading .docx needs python-docx (pip install python-docx)")) from None
    try:
        document = docx.Document(str(path))
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise BadInput(_("{name} is not a readable .docx file ({exc})").format(name=path.name, exc=exc)) from None
    blocks: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            blocks.append(Paragraph(child, document).text)
        elif tag == "tbl":
            for row in Table(child, document).rows:
                for cell in row.cells:
                    blocks += [p.text for p in cell.paragraphs]
    return "\n\n".join(b for b in blocks if b.strip())


def _pdf(path: Path) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:  # pragma: no cover - a core dependency
        raise BadInput(_("reading .pdf needs pypdf (pip install pypdf)")) from None
    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise BadInput(_("{name} is not a readable PDF ({exc})").format(name=path.name, exc=exc)) from None
    text = "\n".join(pages)
    if not text.strip():
        raise BadInput(_("{name} has no text layer (a scanned PDF?): run OCR on it first, or use the .docx or the "
                         "text of the resolution").format(name=path.name))
    return text
