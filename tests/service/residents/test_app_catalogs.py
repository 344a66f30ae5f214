"""The app's words: every string is in each catalog, and the city's translations load back."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

from geo.errors import FieldError
from geo.services import list_services, load_services
from service.cli import main as cli
from service.residents.catalogs import (
    TRANSLATIONS,
    languages,
    messages,
    read_catalog,
    source_messages,
)
from tests.conftest import SERVICES

PLACEHOLDER = re.compile(r"\{\w+\}")


def test_the_template_holds_exactly_the_source_strings():
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = [m.id for m in read_po(handle) if m.id]
    assert sorted(template) == sorted(source_messages())
    assert "Report a problem" in template and "Send report" in template


@pytest.mark.parametrize("language", [lang for lang in languages() if lang != "en"])
def test_every_string_is_translated_with_its_placeholders(language: str):
    catalog = read_catalog(language)
    entries = {m.id: m for m in catalog if m.id}
    missing = [s for s in source_messages()
               if s not in entries or not entries[s].string or entries[s].fuzzy]
    assert not missing, f"untranslated in {language}.po: {missing}"
    stale = sorted(set(entries) - set(source_messages()))
    assert not stale, f"strings the app no longer has, in {language}.po: {stale}"
    for source, entry in entries.items():
        assert sorted(PLACEHOLDER.findall(source)) == sorted(
            PLACEHOLDER.findall(entry.string)), source


def test_the_page_loads_a_language_as_json(client: Any):
    resp = client.get("/app/i18n/es.json")
    assert resp.status_code == 200 and resp.get_json() == messages("es")
    assert resp.get_json()["Send report"] == "Enviar informe"
    assert client.get("/app/i18n/en.json").get_json() == {}


def test_translations_round_trip_through_open311_definitions(
    client: Any, engine: Any, tmp_path: Path, database_url: str, redis_url: str
):
    listing = client.get("/open311/v2/services.json").get_json()
    definition = client.get("/open311/v2/services/flooding.json").get_json()
    assert definition["translations"][0]["service_name"] == "Calle inundada"
    xml = client.get("/open311/v2/services/flooding.xml").get_data(as_text=True)
    assert "<translations><translation>" in xml and "<language>es</language>" in xml
    files = [tmp_path / "services.json", tmp_path / "flooding.json"]
    files[0].write_text(json.dumps([i for i in listing if i["service_code"] == "flooding"]))
    files[1].write_text(json.dumps(definition))
    with engine.connect() as conn:
        before = {s["code"]: s["translations"] for s in list_services(conn)}
    env = {"CIVICPULSE_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    done = CliRunner().invoke(cli, ["services", "load", *map(str, files)], env=env)
    assert done.exit_code == 0, done.output
    with engine.connect() as conn:
        after = {s["code"]: s["translations"] for s in list_services(conn)}
    assert after == before and after["flooding"][0]["attributes"][1]["values"][1] == {
        "key": "blocked", "name": "Cortada"}
    served = client.get("/app/services.json").get_json()["services"]
    assert next(s for s in served if s["service_code"] == "flooding")["translations"] == \
        before["flooding"]


@pytest.mark.parametrize(("translations", "field"), [
    ("es", "[0].translations"),
    ([{"language": "Spanish"}], "[0].translations[0].language"),
    ([{"language": "es", "attributes": [{"code": "nope"}]}],
     "[0].translations[0].attributes[0].code"),
    ([{"language": "es", "attributes": [{"code": "blocking", "values": [{"key": "x",
                                                                         "name": "X"}]}]}],
     "[0].translations[0].attributes[0].values[0].key"),
    ([{"language": "es", "colour": "red"}], "[0].translations[0].colour"),
    ([{"language": "es"}, {"language": "es"}], "[0].translations[1].language"),
])
def test_a_bad_translations_block_names_its_field(translations: Any, field: str, engine: Any):
    item = dict(SERVICES[0], translations=translations)
    with engine.begin() as conn, pytest.raises(FieldError) as err:
        load_services(conn, [item])
    assert err.value.field == field
