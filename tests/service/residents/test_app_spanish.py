"""A Spanish browser gets the whole flow in Spanish: no string outside the catalog."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import Page, expect

from service.residents.catalogs import messages
from tests.conftest import SERVICES
from tests.service.residents.conftest import PLACE, Phone

# Text that is data, not words: numbers, coordinates, punctuation, the brand.
DATA = re.compile(r"[\d\s.,:;·*()\-–/%]*|CivicPulse")


def city_words(language: str) -> set[str]:
    """The test city's own translations of its services (names, groups, questions, answers)."""
    out: set[str] = set()
    for service in SERVICES:
        for t in service.get("translations", []):
            if t["language"] != language:
                continue
            out |= {t[k] for k in ("service_name", "description", "group") if k in t}
            for q in t.get("attributes", []):
                out |= {q.get("description", "")} | {v["name"] for v in q.get("values", [])}
    return out - {""}


def patterns(language: str) -> list[re.Pattern[str]]:
    """Each translation as a pattern whose placeholders match any text."""
    return [re.compile("".join(".+" if part.startswith("{") else re.escape(part)
                               for part in re.split(r"(\{\w+\})", text)), re.S)
            for text in messages(language).values()]


def shown_text(page: Page) -> list[str]:
    """Every visible text node and every accessible label, hint or alt text on the page."""
    return page.evaluate("""() => {
        const out = [];
        const visible = (el) => el && el.getClientRects().length > 0
            && getComputedStyle(el).visibility !== 'hidden';
        const foreign = (el) => el.closest('[lang]') !== document.documentElement;
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const el = node.parentElement;
            const text = node.textContent.trim();
            if (text && visible(el) && !foreign(el) && !el.closest('script, style, noscript'))
                out.push(text);
        }
        for (const el of document.querySelectorAll('[aria-label], [alt], [placeholder], [title]')) {
            if (!visible(el) || foreign(el)) continue;
            for (const name of ['aria-label', 'alt', 'placeholder', 'title']) {
                const value = el.getAttribute(name);
                if (value && value.trim()) out.push(value.trim());
            }
        }
        out.push(document.title);
        return out;
    }""")


def not_translated_by_the_city(client: Any, language: str) -> set[str]:
    """Words of services the city left untranslated (other suites add such services)."""
    out: set[str] = set()
    for s in client.get("/app/services.json").get_json()["services"]:
        if not any(t["language"] == language for t in s["translations"]):
            out |= {s["service_name"], s["description"], s["group"]}
            for a in s["attributes"]:
                out |= {a["description"]} | {v["name"] for v in a.get("values", [])}
    return out - {""}


def untranslated(page: Page, typed: set[str]) -> list[str]:
    """Shown strings that are neither a Spanish catalog entry, the city's words, nor data."""
    allowed = patterns("es")
    words = city_words("es") | typed
    shown = [text.removeprefix("CivicPulse · ") for text in shown_text(page)]  # the title
    return [text for text in shown
            if not (DATA.fullmatch(text) or text in words
                    or any(p.fullmatch(text) for p in allowed))]


def test_a_spanish_phone_gets_every_screen_in_spanish(
    browser: Any, playwright_phone: Any, server: str, place: Any, client: Any, api_keys: Any
) -> None:
    device = dict(playwright_phone.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    lat, lng = PLACE.at(-2000, -2000)
    context = browser.new_context(
        **device, locale="es-ES", permissions=["geolocation"],
        geolocation={"latitude": lat, "longitude": lng, "accuracy": 12})
    phone = Phone(context, server)
    tag = f"es-{uuid.uuid4().hex[:8]}"
    other = client.post("/api/v1/reports", headers=api_keys.headers("app2"), json={
        "service_code": "flooding", "lat": lat, "long": lng, "attributes": {"depth_cm": 4},
        "description": f"{tag} nearby"})
    assert other.status_code == 201
    typed = {f"{tag} agua", "vecina@example.org"} | not_translated_by_the_city(client, "es")
    assert "Street flooding" not in typed
    found: list[str] = []
    try:
        page = phone.open()
        assert page.evaluate("() => document.documentElement.lang") == "es"
        expect(page.locator("#lang")).to_have_value("es")
        found += [f"home: {t}" for t in untranslated(page, typed)]

        page.get_by_role("link", name="Informar de un problema").click()
        expect(page.locator("#location-text")).to_contain_text("precisión de unos 12 m")
        page.get_by_role("radio", name="Calle inundada").check()
        expect(page.locator("#nearby")).to_be_visible()
        page.get_by_role("button", name="Enviar informe").click()
        expect(page.locator("#form-errors")).to_contain_text("esta respuesta es obligatoria")
        found += [f"report: {t}" for t in untranslated(page, typed)]

        page.get_by_label("¿Qué profundidad tiene el agua (cm)?").fill("30")
        page.get_by_role("radio", name="Cortada").check()
        page.get_by_label("Descripción").fill(f"{tag} agua")
        page.get_by_label("Correo electrónico").fill("vecina@example.org")
        page.get_by_role("button", name="Enviar informe").click()
        expect(page.get_by_role("heading", name="Informe enviado")).to_be_visible()
        found += [f"done: {t}" for t in untranslated(page, typed)]

        page.get_by_role("link", name="Mis informes").first.click()
        expect(page.locator("#mine-list [data-field=status]")).to_have_text("Abierto")
        found += [f"mine: {t}" for t in untranslated(page, typed)]

        # The switch turns it back to English, and the choice is kept.
        page.select_option("#lang", "en")
        expect(page.get_by_role("heading", name="My reports")).to_be_visible()
        page.reload()
        page.wait_for_function("() => document.body.dataset.ready === 'yes'")
        expect(page.get_by_role("heading", name="My reports")).to_be_visible()
    finally:
        context.close()
    assert not found, "\n".join(found)
    assert not phone.errors and not phone.outside, phone.errors + phone.outside
