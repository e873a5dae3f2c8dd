"""The optional sections of a published version (sounds like, upcoming dates, press quotes, tech
rider) on the public page, the PDF and the JSON: a date leaves all three by itself once past
("today" from presskit.clock, pinned with PRESSKIT_TODAY), the artist's text is escaped
everywhere, and a version published before the sections renders as it did."""
from __future__ import annotations

import datetime
import json

import jsonschema
import pypdfium2
import pytest
from django.test import Client
from django.utils import timezone

from presskit import clock
from presskit.documents import json_schema
from presskit.exports import exports_read, pdf_render
from presskit.models import PresskitVersion
from tests.presskit.test_public_snapshot import published

pytestmark = pytest.mark.django_db(transaction=True)

SHOW = {"date": datetime.date(2027, 2, 13), "venue": "Sala Riviera", "city": "Madrid",
        "url": "https://entradas.example.com/riviera"}
PAST = {"date": datetime.date(2026, 11, 20), "venue": "Razzmatazz", "city": "Barcelona", "url": ""}
QUOTE = {"text": "Una de las sesiones del año.", "source": "Mondo Sonoro"}
SECTIONS = {"sounds_like": "Peggy Gou, Honey Dijon", "rider_text": "2 × CDJ-3000\nDJM-900NXS2\nMonitores"}
HOSTILE = '<script>alert("x")</script> & \'1\''


def get(path: str, **headers):
    return Client(HTTP_HOST="localhost").get(path, headers=headers)


def page(slug: str, **headers) -> str:
    response = get(f"/p/{slug}/", **headers)
    assert response.status_code == 200
    return response.content.decode()


def pdf_text(slug: str) -> str:
    """The PDF's text as a reader selects it (pdfium), whitespace folded."""
    document = pypdfium2.PdfDocument(get(f"/p/{slug}.pdf").content)
    return " ".join(" ".join(page.get_textpage().get_text_range() for page in document).split())


def test_today_is_the_local_date_unless_pinned(settings):
    settings.PRESSKIT_TODAY = ""
    assert clock.today() == timezone.localdate()
    settings.PRESSKIT_TODAY = "2027-02-14"
    assert clock.today() == datetime.date(2027, 2, 14)


def test_every_section_is_published_and_the_json_validates(settings):
    settings.PRESSKIT_TODAY = "2027-01-01"
    presskit = published("Luna Roja", shows=(SHOW, PAST), quotes=(QUOTE,), **SECTIONS)
    kept = PresskitVersion.objects.get(presskit=presskit).document
    assert [show["date"] for show in kept["shows"]] == ["2026-11-20", "2027-02-13"]  # the version keeps them all

    document = get(f"/p/{presskit.slug}.json").json()
    jsonschema.validate(document, json_schema(), format_checker=jsonschema.FormatChecker())
    assert document["schema_version"] == 3
    assert document["shows"] == [{"date": "2027-02-13", "venue": "Sala Riviera", "city": "Madrid",
                                  "url": "https://entradas.example.com/riviera"}]
    assert document["quotes"] == [QUOTE]
    assert document["sounds_like"] == SECTIONS["sounds_like"]
    assert document["rider"] == {"text": SECTIONS["rider_text"], "pdf": None}

    html = page(presskit.slug)
    assert '<p class="epk__sounds-like"><span class="epk__sounds-like-label">Suena a</span>' in html
    assert html.index("Peggy Gou") < html.index('id="bio-title"')  # near the top, under the genres
    assert '<time class="epk__show-date" datetime="2027-02-13">sáb 13 feb 2027</time>' in html
    assert ('<a class="epk__tickets" href="https://entradas.example.com/riviera" rel="noopener noreferrer">'
            'Entradas</a>') in html
    assert "<blockquote><p>Una de las sesiones del año.</p></blockquote>" in html
    assert "<cite>Mondo Sonoro</cite>" in html
    assert '<details class="epk__rider">' in html and "2 × CDJ-3000<br>DJM-900NXS2<br>Monitores" in html
    assert "Razzmatazz" not in html

    text = pdf_text(presskit.slug)  # the headings in capitals (presskit_pdf.css)
    for words in ("Suena a: Peggy Gou, Honey Dijon", "PRÓXIMAS FECHAS", "sáb 13 feb 2027 · Sala Riviera, Madrid",
                  "PRENSA", "Una de las sesiones del año. — Mondo Sonoro", "RIDER TÉCNICO", "DJM-900NXS2"):
        assert words in text
    assert "Razzmatazz" not in text


def test_a_date_leaves_the_page_the_pdf_and_the_json_once_past(settings):
    settings.PRESSKIT_TODAY = "2027-02-13"  # the day of the show: still upcoming
    presskit = published("Luna Roja", shows=(SHOW,))
    assert "Sala Riviera" in page(presskit.slug)
    assert "Sala Riviera" in pdf_text(presskit.slug)  # the PDF the export job stored
    assert [show["venue"] for show in get(f"/p/{presskit.slug}.json").json()["shows"]] == ["Sala Riviera"]

    settings.PRESSKIT_TODAY = "2027-02-14"
    html = page(presskit.slug)
    assert "Sala Riviera" not in html and "Próximas fechas" not in html
    assert "Sala Riviera" not in pdf_text(presskit.slug)
    remade = f"pdf/{presskit.slug}-v1-2027-02-14.pdf"  # made once for the day, then served as stored
    assert exports_read(remade) == get(f"/p/{presskit.slug}.pdf").content
    settings.PRESSKIT_TODAY = "2027-02-15"
    assert get(f"/p/{presskit.slug}.pdf").status_code == 200
    assert exports_read(remade) is None  # the day before's is gone, the version's own and today's stay
    assert exports_read(f"pdf/{presskit.slug}-v1-2027-02-15.pdf") and exports_read(f"pdf/{presskit.slug}-v1.pdf")
    document = get(f"/p/{presskit.slug}.json").json()
    assert document["shows"] == []
    jsonschema.validate(document, json_schema(), format_checker=jsonschema.FormatChecker())
    assert PresskitVersion.objects.get(presskit=presskit).document["shows"][0]["venue"] == "Sala Riviera"


def test_the_english_page_has_english_words(settings):
    settings.PRESSKIT_TODAY = "2027-01-01"
    presskit = published("Luna Roja", shows=(SHOW,), quotes=(QUOTE,), **SECTIONS)
    html = page(presskit.slug, **{"Accept-Language": "en"})
    for words in ('<span class="epk__sounds-like-label">Sounds like</span>', ">Upcoming dates</h2>",
                  'datetime="2027-02-13">Sat 13 Feb 2027</time>', 'rel="noopener noreferrer">Tickets</a>',
                  ">Press</h2>", ">Tech rider</h2>", "<summary>Show the tech rider</summary>"):
        assert words in html
    assert "Próximas fechas" not in html and "Entradas" not in html


def test_the_artists_text_is_escaped_in_every_section(settings):
    settings.PRESSKIT_TODAY = "2027-01-01"
    tickets = 'https://entradas.example.com/?a="><script>alert(1)</script>'
    presskit = published(
        "Luna Roja", sounds_like=HOSTILE, rider_text=f"{HOSTILE}\nsegunda línea",
        shows=({**SHOW, "venue": HOSTILE, "city": HOSTILE, "url": tickets},
               {**SHOW, "venue": "Sin enlace", "url": "javascript:alert(1)"}),
        quotes=({"text": HOSTILE, "source": HOSTILE},))
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;1&#x27;"

    html = page(presskit.slug)
    assert "<script>alert" not in html and "javascript:" not in html
    assert f'<span lang="es">{escaped}</span>' in html  # sounds like
    assert f'<span class="epk__show-venue">{escaped}</span>, {escaped}</span>' in html
    assert f"<blockquote><p>{escaped}</p></blockquote>" in html and f"<cite>{escaped}</cite>" in html
    assert f"<p>{escaped}<br>segunda línea</p>" in html  # the rider
    # An http(s) link stays one, its quotes escaped inside the attribute; any other is no link.
    assert ('href="https://entradas.example.com/?a=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" '
            'rel="noopener noreferrer">Entradas</a>') in html
    assert html.count('class="epk__tickets"') == 1

    text = pdf_text(presskit.slug)  # the PDF has it as text, never as markup
    assert text.count(HOSTILE) >= 5

    document = json.loads(get(f"/p/{presskit.slug}.json").content)
    jsonschema.validate(document, json_schema(), format_checker=jsonschema.FormatChecker())
    assert document["sounds_like"] == HOSTILE and document["rider"]["text"].startswith(HOSTILE)
    assert document["quotes"] == [{"text": HOSTILE, "source": HOSTILE}]
    assert [show["url"] for show in document["shows"]] == [tickets, ""]


def test_a_version_published_before_the_sections_renders_as_it_did():
    presskit = published("Luna Roja", shows=(SHOW,), quotes=(QUOTE,), **SECTIONS)
    version = PresskitVersion.objects.get(presskit=presskit)
    older = {key: value for key, value in version.document.items()
             if key not in ("shows", "quotes", "sounds_like", "rider")}
    PresskitVersion.objects.filter(pk=version.pk).update(document=older)

    html = page(presskit.slug)
    assert "Luna Roja es DJ de house" in html
    for absent in ("epk__sounds-like", "shows-title", "press-title", "rider-title"):
        assert absent not in html
    assert get(f"/p/{presskit.slug}.json").json() == older
    assert pdf_render(older).startswith(b"%PDF")
