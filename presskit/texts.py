"""The words of the pages outside the chat, by language: the public page's, the PDF's and the
404's (a booker reads them), and the busy page's (the load-shedding 503)."""
from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format

PUBLIC_TEXTS: dict[str, dict[str, str]] = {
    "es": {
        "genres": "Géneros",
        "experience": "Trayectoria",
        "location": "Base",
        "bio": "Biografía",
        "bio_long": "Leer la biografía completa",
        "story_title": "En sus palabras",
        "links": "Escucha y sigue",
        "listen": "Su música",
        "play": "Reproducir en {label}",
        "play_note": "El reproductor de {label} se carga solo cuando lo pulsas.",
        "player_title": "Música de {name} en {label}",
        "booking": "Contratación",
        "booking_lead": "Para fechas y condiciones, escribe a",
        "downloads": "Descargas",
        "pdf": "Presskit en PDF",
        "json": "Datos (JSON)",
        "zip": "Descargar todo (ZIP)",
        "photo_alt": "Foto de prensa de {name}",
        "photo_alt_numbered": "Foto de prensa {number} de {name}",
        "photo_credit": "Foto: {credit}",
        "photos": "Fotos de prensa",
        "photo_download": "Descargar en alta resolución",
        "photo_download_aria": "Descargar la foto {number} en alta resolución",
        "made_with": "Presskit hecho con ÍTERA PressKit",
        "version": "Versión {number} · publicada el {date}",
        "link_aria": "{label} de {name} (se abre el sitio de {label})",
        "snapshot_note": "Estás viendo la última versión publicada.",
        "not_found_title": "Este presskit no está publicado",
        "not_found_text": "El enlace puede estar mal escrito, o el artista ha retirado su página. "
                          "Pídele el enlace nuevo o escríbele directamente.",
        "not_found_home": "Crea tu propio presskit",
        "busy_title": "Hay mucha gente creando su presskit ahora mismo",
        "busy_text": "Vuelve en un momento: esta página lo intentará sola en {seconds} segundos. "
                     "Lo que ya hayas escrito sigue guardado.",
        "language_switch": "Esta página en español",
        "sounds_like": "Suena a",
        "shows": "Próximas fechas",
        "show_date_format": "D j b Y",  # sáb 13 feb 2027 (Django date format; `b`: lower-case month)
        "tickets": "Entradas",
        "press": "Prensa",
        "rider": "Rider técnico",
        "rider_open": "Ver el rider técnico",
        "rider_pdf": "Descargar rider (PDF)",
        "rider_pdf_at": "Rider técnico en PDF",
        # bios.txt in the ZIP (presskit.zips)
        "bios_title": "{name} · Biografías",
        "bios_one_liner": "En una frase",
        "bios_short": "Biografía corta",
        "bios_long": "Biografía larga",
        "bios_translation": "{language} (traducción)",
        "photos_title": "{name} · Fotos de prensa",
    },
    "en": {
        "genres": "Genres",
        "experience": "Experience",
        "location": "Based in",
        "bio": "Biography",
        "bio_long": "Read the full biography",
        "story_title": "In their own words",
        "links": "Listen and follow",
        "listen": "The music",
        "play": "Play on {label}",
        "play_note": "{label}'s player loads only when you press play.",
        "player_title": "{name}'s music on {label}",
        "booking": "Booking",
        "booking_lead": "For dates and fees, write to",
        "downloads": "Downloads",
        "pdf": "Presskit as PDF",
        "json": "Data (JSON)",
        "zip": "Download everything (ZIP)",
        "photo_alt": "Press photo of {name}",
        "photo_alt_numbered": "Press photo {number} of {name}",
        "photo_credit": "Photo: {credit}",
        "photos": "Press photos",
        "photo_download": "Download in high resolution",
        "photo_download_aria": "Download photo {number} in high resolution",
        "made_with": "Presskit made with ÍTERA PressKit",
        "version": "Version {number} · published on {date}",
        "link_aria": "{name} on {label} (opens {label})",
        "snapshot_note": "You are seeing the latest published version.",
        "not_found_title": "This presskit is not published",
        "not_found_text": "The link may be mistyped, or the artist has taken the page down. "
                          "Ask them for the new link or write to them directly.",
        "not_found_home": "Make your own presskit",
        "busy_title": "Lots of artists are making their presskit right now",
        "busy_text": "Come back in a moment: this page will try again by itself in {seconds} seconds. "
                     "Whatever you have written is still saved.",
        "language_switch": "This page in English",
        "sounds_like": "Sounds like",
        "shows": "Upcoming dates",
        "show_date_format": "D j M Y",  # Sat 13 Feb 2027
        "tickets": "Tickets",
        "press": "Press",
        "rider": "Tech rider",
        "rider_open": "Show the tech rider",
        "rider_pdf": "Download rider (PDF)",
        "rider_pdf_at": "Tech rider as PDF",
        "bios_title": "{name} · Biographies",
        "bios_one_liner": "One-liner",
        "bios_short": "Short biography",
        "bios_long": "Long biography",
        "bios_translation": "{language} (translation)",
        "photos_title": "{name} · Press photos",
    },
}


def public_texts(language: str) -> dict[str, str]:
    return PUBLIC_TEXTS.get(language) or PUBLIC_TEXTS[settings.LANGUAGE_CODE]


def version_caption(document: dict, language: str | None = None) -> str:
    """"Versión 3 · publicada el 1 de diciembre de 2026", in `language` (the document's by default)."""
    language = language or document["language"]
    published = parse_datetime(document["published_at"])
    with translation.override(language):
        date = date_format(published, "DATE_FORMAT") if published else ""
    return public_texts(language)["version"].format(number=document["version"], date=date)


def shows_dated(shows: list[dict], language: str) -> list[dict]:
    """Each show with its date as read in `language` ("sáb 13 feb 2027") under `when`."""
    day_format = public_texts(language)["show_date_format"]
    with translation.override(language):
        return [{**show, "when": date_format(datetime.date.fromisoformat(show["date"]), day_format)} for show in shows]
