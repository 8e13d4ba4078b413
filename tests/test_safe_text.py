"""Text from the data or the config is escaped wherever it reaches a report (without a browser).

Markdown is rendered with nbconvert's own converter, the one that turns the notebooks' Markdown
outputs into the report's HTML; the result is read as markup by the same reader the browser
test uses.
"""

from __future__ import annotations

import io
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from cxlib.churn import effect_sentence
from cxlib.overview import _kpis as kpis
from cxlib.overview import describe_data, describe_kpis, headline_sentence, kpi_table
from cxlib.report import MAX_NAMED, describe_pooling
from cxlib.report import _charts as plots
from cxlib.report._html import money_format, styled, write_index
from cxlib.report._safe_text import escape_text, md_plain, md_text

from .browser import read_page

matplotlib.use("Agg")

PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "[click](javascript:alert(1))",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
)
TRICKY = ("a_b_c *x* `code` $x$ \\ & &lt;", "line one\n\n# heading\n[x]: javascript:alert(1)")


@pytest.fixture
def theme():
    """The suite's chart theme, undone afterwards (it sets global rcParams other tests rely on)."""
    with matplotlib.rc_context():
        plots.set_theme()
        yield


def rendered(markdown: str):
    return read_page(markdown2html_mistune(markdown))


def live_markup(markup: str) -> list[str]:
    """Elements a payload would create, beyond what read_page flags (links, images, svg)."""
    found = read_page(markup).live
    lowered = markup.lower()
    return found + [tag for tag in ("<a ", "<img", "<svg", "<script") if tag in lowered]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_text_renders_payloads_as_their_own_text(payload):
    html = markdown2html_mistune(f"**{md_text(payload)}** bought it.")
    assert live_markup(html) == []
    assert read_page(html).text.strip() == f"{payload} bought it."


@pytest.mark.parametrize("text", TRICKY)
def test_md_text_keeps_markdown_specials_literal_and_stays_on_one_line(text):
    html = markdown2html_mistune(f"Segment {md_text(text)} is largest.")
    assert live_markup(html) == [] and "<h1" not in html and "<em>" not in html and "<code>" not in html
    assert read_page(html).text.strip() == f"Segment {' '.join(text.split())} is largest."


def test_md_text_leaves_ordinary_names_as_they_are():
    for name in ("High-value frequent app-first customers (2)", "Plan: premium", "per SD of 1.52", "EUR"):
        assert md_text(name) == name


@pytest.mark.parametrize("payload", PAYLOADS + TRICKY)
def test_md_plain_gives_back_the_text_md_text_escaped(payload):
    assert md_plain(f"**{md_text(payload)}** rose") == " ".join(payload.split()) + " rose"


def test_escape_text_escapes_every_html_special():
    assert escape_text("<a href='x' title=\"y\">&</a>") == (
        "&lt;a href=&#x27;x&#x27; title=&quot;y&quot;&gt;&amp;&lt;/a&gt;"
    )


def test_styled_table_escapes_headers_cells_and_what_a_format_string_adds():
    payload = PAYLOADS[1]
    table = pd.DataFrame({payload: ["web", PAYLOADS[0]], "net_revenue": [1234.5, np.nan]})
    html = styled(table, {"net_revenue": "{:,.0f} " + payload}, caption=PAYLOADS[2]).to_html()
    assert read_page(html).live == [] and "<img" not in html and "<svg" not in html
    text = read_page(html).text
    assert f"1,234 {payload}" in text and PAYLOADS[0] in text and PAYLOADS[2] in text
    assert payload.capitalize() in text  # the header, in sentence case


def test_money_format_copes_with_braces_in_the_currency_and_styled_escapes_it():
    assert money_format("{x}")(1234.5) == "1,234 {x}"
    html = styled(
        pd.DataFrame({"net_revenue": [1234.5]}), {"net_revenue": money_format(PAYLOADS[0], 2)}
    ).to_html()
    assert "<script" not in html and f"1,234.50 {PAYLOADS[0]}" in read_page(html).text


def test_kpi_sentences_escape_the_currency():
    table = pd.DataFrame(
        {
            "kpi": ["active_customers", "net_revenue_12m", "revenue_per_buyer", "repeat_rate"],
            "value": [10.0, 5000.0, 50.0, 0.4],
            "low": [np.nan, np.nan, 45.0, 0.35],
            "high": [np.nan, np.nan, 55.0, 0.45],
            "unit": ["customers", "currency", "currency", "share"],
            "window_days": [90, 365, 365, 365],
        }
    )
    page = rendered(describe_kpis(table, PAYLOADS[0]))
    assert page.live == [] and f"5,000 {PAYLOADS[0]}" in page.text
    page = rendered(headline_sentence(table, PAYLOADS[0]))
    assert page.live == [] and f"5,000 {PAYLOADS[0]}" in page.text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_overview_sentences_and_kpi_table_escape_the_company_and_currency(payload, small_data):
    from cxlib.data import load_config
    from cxlib.overview import data_overview

    from .conftest import SMALL_CONFIG

    overview = data_overview(
        small_data, load_config(SMALL_CONFIG, {"company": payload, "analysis.currency": payload})
    )
    page = rendered(describe_data(overview))
    assert page.live == [] and payload.strip() in page.text
    html = kpi_table(overview.kpis, overview.currency).to_html()
    assert live_markup(html) == [] and "EUR" not in read_page(html).text and payload in read_page(html).text


def test_driver_sentences_escape_labels_and_levels_from_the_data():
    row = pd.Series(
        {
            "label": f"Plan: {PAYLOADS[0]}",
            "unit": f"vs {PAYLOADS[3]}",
            "estimate": 2.0,
            "ci_low": 1.5,
            "ci_high": 2.5,
        }
    )
    html = markdown2html_mistune(effect_sentence(row))
    assert live_markup(html) == []
    assert f"Plan: {PAYLOADS[0]} (vs {PAYLOADS[3]}) goes with 2.00" in read_page(html).text


def test_index_shows_headlines_company_and_file_names_as_text(tmp_path):
    manifest = {
        "company": PAYLOADS[0],
        "as_of": "2025-12-31",
        "generated": "now",
        "config_path": PAYLOADS[2],
        "config_text": f"company: {PAYLOADS[0]}",
        "seed": 42,
        "fingerprints": {f"surveys:{PAYLOADS[1]}.csv": "abc"},
        "notes": [PAYLOADS[1]],
        "versions": {},
        "reports": [
            {
                "html": "00_x.html",
                "title": PAYLOADS[2],
                "seconds": 1.0,
                "headline": f"**{md_text(PAYLOADS[0])}** lead",
            }
        ],
        "total_seconds": 1.0,
    }
    page = read_page(write_index(tmp_path / "index.html", manifest).read_text())
    assert page.live == []
    assert f"{PAYLOADS[0]} lead" in page.text and f"{PAYLOADS[1]}.csv" in page.text


@pytest.mark.parametrize("text", ["a $\\frac{$ b", "$$"])
def test_a_dollar_from_the_data_does_not_break_a_chart(text, theme):
    ax = plots.plot_share_bars(
        pd.DataFrame({"channel": [text, "web"], "share": [0.6, 0.4]}), "channel", "share", text, text
    )
    ax.figure.savefig(io.BytesIO(), format="png")
    assert ax.get_title(loc="left") == text
    matplotlib.pyplot.close(ax.figure)


def test_long_names_from_the_data_do_not_collapse_a_chart(theme):
    name = " ".join(PAYLOADS) * 2
    table = pd.DataFrame({"plan": [name, "basic"], "share": [0.6, 0.4]})
    ax = plots.plot_share_bars(table, "plan", "share", f"{name} brings 60% of revenue", "share of revenue")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied" fails the notebook run
        ax.figure.savefig(io.BytesIO(), format="png", bbox_inches="tight")
    assert all(len(label.get_text()) <= plots.MAX_LABEL for label in ax.get_yticklabels())
    matplotlib.pyplot.close(ax.figure)


def test_pooling_sentence_escapes_small_group_names_and_names_at_most_five():
    """Small groups are pooled and named in a sentence: their names come from the data."""

    def sentence(small_plans: list[str]) -> str:
        plans = ["basic"] * 50 + small_plans
        customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(plans))], "plan": plans})
        return describe_pooling(kpis.attribute_mix(customers, "plan", 10))

    text = sentence([PAYLOADS[1]] * 3 + ["trial"] * 8)
    assert "<img" not in text and "&lt;img" in text and "'trial'" in text
    text = sentence([f"tiny{i}" for i in range(12)])  # 12 customers: a pool large enough alone
    assert text.count("'tiny") == MAX_NAMED and f"and {12 - MAX_NAMED} more" in text
