"""Plain documents (the dossier summary, the escalation requests) as HTML then PDF (WeasyPrint).

A document is a title and sections; a section has key/value rows, a table and/or paragraphs. The
PDF carries no creation date, so the same data gives the same bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from relance.lib.pdf import html_to_pdf

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass
class Section:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    head: list[str] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    numeric: tuple[int, ...] = ()  # table columns aligned right (amounts)


@cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def document_html(title: str, sections: list[Section], language: str = "fr", subtitle: str = "",
                  footer: str = "") -> str:
    return _env().get_template("dossier/document.html").render(
        title=title, subtitle=subtitle, sections=sections, language=language, footer=footer,
    )


def document_pdf(title: str, sections: list[Section], language: str = "fr", subtitle: str = "",
                 footer: str = "") -> bytes:
    return html_to_pdf(document_html(title, sections, language, subtitle, footer), base_url=TEMPLATES_DIR)
