"""Figures in the pack's PDF fit their page, however many services a chart has rows for."""

from __future__ import annotations

from PIL import Image as PILImage
from reportlab.lib.units import inch
from reportlab.platypus import SimpleDocTemplate

from geo.evidence.pdf import MAX_FIGURE_HEIGHT, _figure


def test_a_chart_taller_than_a_page_is_shrunk_to_fit_and_renders(tmp_path):
    tall = tmp_path / "tall.png"  # the monthly chart of a city with 30 services
    PILImage.new("RGB", (730, 2900), "white").save(tall)
    figure = _figure(tall, 7.3)
    assert figure.drawHeight <= MAX_FIGURE_HEIGHT * inch + 1e-6
    assert abs(figure.drawWidth / figure.drawHeight - 730 / 2900) < 1e-6
    SimpleDocTemplate(str(tmp_path / "out.pdf")).build([figure])  # LayoutError before


def test_a_small_chart_keeps_its_width(tmp_path):
    small = tmp_path / "small.png"
    PILImage.new("RGB", (730, 300), "white").save(small)
    assert abs(_figure(small, 7.3).drawWidth - 7.3 * inch) < 1e-6
