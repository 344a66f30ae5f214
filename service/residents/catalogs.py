"""The app's words per language, read from gettext catalogs with Babel.

The source strings are the English texts inside ``_("…")`` calls of the app's
JavaScript; ``translations/messages.pot`` is extracted from them with Babel
(``pybabel extract -F service/residents/babel.cfg``) and each language's ``.po``
is updated from it (``pybabel update``). The page loads a language as a JSON object
``{msgid: msgstr}`` built from its ``.po`` here, so there is no compiled file to
keep in step: a fuzzy or empty entry is left out and the English text is shown.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).parent / "translations"
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
