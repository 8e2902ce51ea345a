"""HTML to PDF with WeasyPrint (letters, statements).

Resources are fetched only from `data:` URIs and from files under the allowed folders (the
letter templates, the media folder for logos): a name or an address typed by a user can never
make the renderer read another local file or call a URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings


class PdfError(RuntimeError):
    pass


def _allowed_roots(extra: Iterable[Path] = ()) -> list[Path]:
    roots = [Path(settings.MEDIA_ROOT).resolve(), Path(__file__).resolve().parent.parent]
    return roots + [Path(p).resolve() for p in extra]


def _fetcher(roots: list[Path]):
    from weasyprint.urls import URLFetcher

    class SafeFetcher(URLFetcher):
        """data: URIs, and file: URLs under the allowed folders; nothing else (no HTTP)."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme == "file":
                path = Path(unquote(parts.path)).resolve()
                if not any(path.is_relative_to(root) for root in roots):
                    raise PdfError(f"resource outside the allowed folders: {path.name}")
            return super().fetch(url, headers)

    return SafeFetcher(allowed_protocols={"data", "file"}, allow_redirects=False)


def html_to_pdf(html: str, base_url: str | Path | None = None, allowed: Iterable[Path] = ()) -> bytes:
    """Render one HTML document to PDF bytes; relative URLs resolve against `base_url` (a folder)."""
    return htmls_to_pdf([html], base_url, allowed)


def htmls_to_pdf(htmls: Iterable[str], base_url: str | Path | None = None, allowed: Iterable[Path] = ()) -> bytes:
    """Render several HTML documents into one PDF, each starting on a new page (a print batch)."""
    from weasyprint import HTML

    roots = _allowed_roots(allowed)
    if base_url is not None:
        roots.append(Path(base_url).resolve())
    base = str(Path(base_url).resolve()) + "/" if base_url is not None else None
    fetcher = _fetcher(roots)
    documents = [HTML(string=html, base_url=base, url_fetcher=fetcher).render() for html in htmls]
    if not documents:
        raise PdfError("nothing to render")
    pages = [page for document in documents for page in document.pages]
    return documents[0].copy(pages).write_pdf()


def html_to_page_pdfs(html: str, base_url: str | Path | None = None, allowed: Iterable[Path] = ()) -> list[bytes]:
    """Render one HTML document once and write each of its pages as a PDF of its own.

    Many one-page documents (the demo's invoices) for the cost of one layout: fonts and styles
    are loaded once, not once per document."""
    from weasyprint import HTML

    roots = _allowed_roots(allowed)
    if base_url is not None:
        roots.append(Path(base_url).resolve())
    base = str(Path(base_url).resolve()) + "/" if base_url is not None else None
    document = HTML(string=html, base_url=base, url_fetcher=_fetcher(roots)).render()
    return [document.copy([page]).write_pdf() for page in document.pages]
