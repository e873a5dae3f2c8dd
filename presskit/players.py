"""The player on the public page: the embed address of an artist's music link, built from the
link's parts (never from anything the artist typed as HTML), for the services whose embed can
be made from the link alone. YouTube plays from its no-cookie domain.

Bandcamp is left out: its embed needs the album's or track's number, which its links do not
carry (it stays a link on the page).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
YOUTUBE_LIST = re.compile(r"[A-Za-z0-9_-]{10,64}")
SPOTIFY_ID = re.compile(r"[A-Za-z0-9]{22}")
SPOTIFY_KINDS = ("track", "album", "playlist", "artist", "episode", "show")
SOUNDCLOUD_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,100}")
SOUNDCLOUD_RESERVED = {"discover", "search", "stream", "upload", "you", "charts", "signin", "settings"}


@dataclass(frozen=True)
class Player:
    kind: str  # the link's kind (presskit.documents.LINK_KINDS)
    embed_url: str
    url: str  # the link itself: where the page sends a browser that runs no script

    @property
    def origin(self) -> str:
        parts = urlsplit(self.embed_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def autoplay_url(self) -> str:
        """The embed address that starts playing once loaded: it loads on the booker's tap."""
        if self.kind == "youtube":
            return self.embed_url + ("&" if "?" in self.embed_url else "?") + "autoplay=1"
        if self.kind == "soundcloud":
            return self.embed_url + "&auto_play=true"
        return self.embed_url  # Spotify's embed has no such switch: the booker taps its play

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "embed_url": self.embed_url, "url": self.url}


def _youtube(url: str) -> str | None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.").removeprefix("music.")
    query = parse_qs(parts.query)
    segments = [segment for segment in parts.path.split("/") if segment]
    video = None
    if host == "youtu.be" and segments:
        video = segments[0]
    elif host == "youtube.com" and segments[:1] == ["watch"]:
        video = (query.get("v") or [""])[0]
    elif host == "youtube.com" and len(segments) >= 2 and segments[0] in ("shorts", "embed", "live"):
        video = segments[1]
    if video and YOUTUBE_ID.fullmatch(video):
        return f"https://www.youtube-nocookie.com/embed/{video}"
    playlist = (query.get("list") or [""])[0]
    if host == "youtube.com" and segments[:1] == ["playlist"] and YOUTUBE_LIST.fullmatch(playlist):
        return f"https://www.youtube-nocookie.com/embed/videoseries?list={playlist}"
    return None


def _spotify(url: str) -> str | None:
    parts = urlsplit(url)
    if (parts.hostname or "").lower() != "open.spotify.com":
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments and segments[0].startswith("intl-"):  # open.spotify.com/intl-es/track/…
        segments = segments[1:]
    if len(segments) >= 2 and segments[0] in SPOTIFY_KINDS and SPOTIFY_ID.fullmatch(segments[1]):
        return f"https://open.spotify.com/embed/{segments[0]}/{segments[1]}"
    return None


def _soundcloud(url: str) -> str | None:
    parts = urlsplit(url)
    if (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.") != "soundcloud.com":
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if not 1 <= len(segments) <= 3 or segments[0].lower() in SOUNDCLOUD_RESERVED:
        return None
    if not all(SOUNDCLOUD_SEGMENT.fullmatch(segment) for segment in segments):
        return None
    page = "https://soundcloud.com/" + "/".join(segments)  # an artist, a track or a set
    return f"https://w.soundcloud.com/player/?url={quote(page, safe='')}&visual=true"


_EMBEDS = {"youtube": _youtube, "spotify": _spotify, "soundcloud": _soundcloud}


def players_of(links: list[dict[str, str]]) -> list[Player]:
    """A player for each of the page's links (presskit.documents.link_of) that can have one."""
    return [Player(link["kind"], embed_url, link["url"]) for link in links
            if (embed := _EMBEDS.get(link["kind"])) and (embed_url := embed(link["url"]))]


def player_of(links: list[dict[str, str]], chosen: str = "") -> Player | None:
    """The page's player: the link the artist chose, if it still has one; else the first that does."""
    players = players_of(links)
    return next((player for player in players if player.url == chosen), players[0] if players else None)
