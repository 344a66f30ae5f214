"""The app's words per language, read from gettext catalogs with Babel.

The source strings are the English texts inside ``_("…")`` calls of the app's
JavaScript and of the shell's elements marked ``data-i18n``. After changing them,
extract the template and update each language with Babel, then translate what the
``.po`` marks new or fuzzy::

    pybabel extract -F service/residents/babel.cfg -k _ --no-location \
        -o service/residents/translations/messages.pot service/residents
    pybabel update -i service/residents/translations/messages.pot -l es \
        -o service/residents/translations/es.po

``tests/service/residents/test_app_catalogs.py`` fails while a string lacks a
translation. The page loads a language as a JSON object ``{msgid: msgstr}`` built
from its ``.po`` here, so there is no compiled file to
keep in step: a fuzzy or empty entry is left out and the English text is shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, BinaryIO

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

HERE = Path(__file__).parent
TRANSLATIONS = HERE / "translations"
#: Which files hold the app's words, and how Babel reads each (as in babel.cfg).
METHOD_MAP = [("static/*.js", "javascript"),
              ("templates/residents/*.html", "service.residents.catalogs:extract_html")]
#: The language the source strings are written in.
SOURCE_LANGUAGE = "en"


def languages() -> list[str]:
    """Every language the app speaks: the source language and each ``.po`` file's."""
    return [SOURCE_LANGUAGE, *sorted(p.stem for p in TRANSLATIONS.glob("*.po"))]


def read_catalog(language: str) -> Catalog:
    """The Babel catalog of ``language`` (its ``.po`` file)."""
    with (TRANSLATIONS / f"{language}.po").open("rb") as handle:
        return read_po(handle, locale=language)


@lru_cache(maxsize=8)
def _messages(language: str, mtime_ns: int) -> dict[str, str]:
    catalog = read_catalog(language)
    return {
        str(m.id): str(m.string)
        for m in catalog
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
        and not m.fuzzy
    }


def messages(language: str) -> dict[str, str]:
    """``{English text: translation}`` for ``language``; empty for the source language.

    >>> messages("en")
    {}
    >>> messages("es")["Report a problem"]
    'Informar de un problema'
    """
    if language == SOURCE_LANGUAGE:
        return {}
    path = TRANSLATIONS / f"{language}.po"
    return _messages(language, path.stat().st_mtime_ns)


def source_messages() -> list[str]:
    """Every English string of the app, in the order Babel extracts them."""
    found: list[str] = []
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(HERE), METHOD_MAP, keywords={"_": None}
    ):
        if isinstance(message, str) and message not in found:
            found.append(message)
    return found


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class _Marked(HTMLParser):
    """Collects ``(line, text)`` of each ``data-i18n`` element, whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._open: list[tuple[int, list[str]] | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            marked = any(name == "data-i18n" for name, _ in attrs)
            self._open.append((self.getpos()[0], []) if marked else None)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID and self._open:
            top = self._open.pop()
            if top is not None:
                self.found.append((top[0], " ".join("".join(top[1]).split())))

    def handle_data(self, data: str) -> None:
        for entry in self._open:
            if entry is not None:
                entry[1].append(data)


def extract_html(fileobj: BinaryIO, keywords: Any, comment_tags: Any,
                 options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method (``babel.cfg``): the ``data-i18n`` texts of the shell.

    The page translates the same texts at run time (``i18n.js``), keyed by the
    English text with its whitespace collapsed, as here.
    """
    parser = _Marked()
    parser.feed(fileobj.read().decode(options.get("encoding", "utf-8")))
    parser.close()
    for line, text in parser.found:
        yield line, "_", text, []
