"""The chat page's layout in a real browser (Debian's Chromium) against a real Daphne. On a phone an
app shell: the transcript scrolls, never the page, and the reply box stays in view on every step;
the draft panel folds into a live summary ("Tu presskit · 4 de 7") that keeps the artist's open or
closed choice across its live re-renders, and shows the finished bio first. On a wide screen the
panel stays open beside the chat. A streaming reply keeps its cursor on its last line, lined up
with the messages; the photo picker is a styled real file input, working without JavaScript; the
start screen shows an example presskit, marked as one. axe-core is clean and the focus ring
readable in every state at both sizes. Screenshots land in test-artifacts/."""
from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from tests.presskit.images import png_bytes
from tests.servers import database_url_of_test_db, server_environment, start_daphne
from tests.ui.conftest import LAPTOP, PHONE
from tests.ui.test_chat_browser import ARTIFACTS, send, shoot
from tests.ui.test_experience_browser import TOUCH, serious_violations

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

ANSWERS = ("Luna Roja", "house, techno melódico", "desde 2014", "Madrid; salas y festivales de España",
           "Empecé pinchando los vinilos de mi padre en Vallecas y hoy toco en festivales de toda España.",
           "@lunaroja soundcloud.com/lunaroja", "booking@lunaroja.com")

# Every stop of the Tab order, its focus ring read from the computed style: the outer ring (the
# edge one, for a ring drawn inside) 3:1 or more against what surrounds the control, and one of the
# two rings 3:1 or more against its fill.
FOCUS_RINGS = """() => {
  const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map((c) => c / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const contrast = (a, b) => {
    const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (high + 0.05) / (low + 0.05);
  };
  const filled = (element) => {
    const colour = rgb(getComputedStyle(element).backgroundColor);
    return colour.length < 4 || colour[3] > 0;
  };
  const behind = (element) => {
    for (let node = element.parentElement; node; node = node.parentElement) {
      if (filled(node)) return rgb(getComputedStyle(node).backgroundColor);
    }
    return rgb(getComputedStyle(document.documentElement).backgroundColor);
  };
  const ringed = (element) => (element.id === "photo-file" ? element.nextElementSibling : element);
  return (focused) => {
    const element = ringed(focused);
    const shadow = getComputedStyle(element).boxShadow;
    const rings = (shadow.match(/rgba?\\([^)]*\\)/g) || []).map(rgb);
    if (rings.length < 2) return `${focused.outerHTML.slice(0, 80)}: no two-tone ring`;
    const [inner, outer] = shadow.includes("inset") ? [rings[1], rings[0]] : rings;
    const around = contrast(outer, behind(element));
    const fill = filled(element) ? rgb(getComputedStyle(element).backgroundColor) : behind(element);
    const own = Math.max(contrast(outer, fill), contrast(inner, fill));  // it stands out of the control too
    if (around >= 3 && own >= 3) return "";
    return `${focused.outerHTML.slice(0, 80)}: ${around.toFixed(2)} around, ${own.toFixed(2)} on the control`;
  };
}"""

# Samples every change to the streaming reply: where its cursor is against its last word, and where
# the bubble starts against the assistant's bubbles above it.
WATCH_STREAM = """() => {
  window.__stream = [];
  new MutationObserver(() => {
    const text = document.getElementById("stream-text");
    const cursor = document.querySelector("#stream .msg__cursor");
    if (!text || !cursor || !text.textContent.trim()) return;
    const range = document.createRange();
    range.selectNodeContents(text);
    const lines = [...range.getClientRects()].filter((rect) => rect.width > 0);
    const last = lines[lines.length - 1];
    const box = cursor.getBoundingClientRect();
    window.__stream.push({
      cursorTop: box.top, lastTop: last.top, cursorLeft: box.left, lastRight: last.right,
      bubble: document.querySelector("#stream .msg").getBoundingClientRect().left,
      column: document.querySelector("#messages .msg--assistant").getBoundingClientRect().left,
    });
  }).observe(document.querySelector(".transcript"), { childList: true, subtree: true, characterData: true });
}"""


@pytest.fixture
def page(browser_page: Page) -> Page:
    browser_page.set_viewport_size(PHONE)
    return browser_page


def open_chat(page: Page, base_url: str) -> None:
    """The chat, connected and caught up: every connection starts with a frame re-rendering the
    whole state, which would replace what a test has just opened or focused."""
    page.add_init_script("document.addEventListener('htmx:wsAfterMessage', () => { window.__frames = 1; });")
    page.goto(base_url + "/")
    expect(page.locator("#connection")).to_have_text("Conexión estable")
    page.wait_for_function("() => window.__frames === 1")


def box_stays_in_view(page: Page) -> dict:
    """The reply box wholly inside the viewport, and the page itself not scrolling."""
    box = page.locator("#composer").bounding_box()
    height = page.viewport_size["height"]
    top, bottom = box["y"], box["y"] + box["height"]
    assert top >= 0 and bottom <= height, f"the box spans {top:.0f}–{bottom:.0f} px of {height}"
    scrolled = page.evaluate("document.scrollingElement.scrollHeight - innerHeight")
    assert scrolled <= 1, f"the page scrolls by {scrolled} px"
    return box


def focus_ring_failures(page: Page) -> list[str]:
    """Tabs through the whole page (as a keyboard does), checking each stop's ring."""
    check = page.evaluate_handle(FOCUS_RINGS)
    # From the top: the body focused (for a moment focusable) is where Tab starts from.
    page.evaluate("""() => {
      document.body.tabIndex = -1; document.body.focus(); document.body.removeAttribute("tabindex");
      window.__visited = new WeakSet();
    }""")
    failures, stops = [], 0
    for stops in range(100):
        page.keyboard.press("Tab")
        focused = page.evaluate_handle("document.activeElement")
        if focused.evaluate("e => e === document.body || window.__visited.has(e)"):
            break  # round the whole page
        focused.evaluate("e => window.__visited.add(e)")
        if failure := check.evaluate("(check, element) => check(element)", focused):
            failures.append(failure)
    assert stops >= 6, f"only {stops} stops"
    return failures


def wide_screen_keeps_the_draft_beside_the_chat(page: Page, state: str) -> None:
    """The same page on a wide screen: two columns, the panel open, axe clean; back to the phone."""
    page.set_viewport_size(LAPTOP)
    expect(page.locator("#draft-panel")).to_have_attribute("open", "")
    expect(page.locator("#draft-title")).to_be_visible()
    expect(page.locator("#draft-panel > summary")).to_be_hidden()
    box_stays_in_view(page)
    draft, transcript = page.locator("#draft").bounding_box(), page.locator(".transcript").bounding_box()
    assert draft["x"] >= transcript["x"] + transcript["width"] and draft["y"] < transcript["y"] + transcript["height"]
    assert draft["y"] + draft["height"] <= LAPTOP["height"]
    shoot(page, f"layout-desktop-{state}")
    assert serious_violations(page) == []
    assert focus_ring_failures(page) == []
    page.set_viewport_size(PHONE)


def test_on_a_phone_the_box_stays_in_view_and_the_draft_folds_into_a_live_summary(daphne, page):
    open_chat(page, daphne)
    summary = page.locator("#draft-panel > summary")
    panel = page.locator("#draft-panel")

    # The start screen: an example presskit, captioned as one, outside the transcript's live region.
    example = page.get_by_role("figure", name=re.compile("^Ejemplo"))
    expect(example).to_be_visible()
    expect(example).to_contain_text("Noa Vértice")
    assert example.evaluate("e => !e.closest('[aria-live], [role=log]')")
    expect(summary).to_have_text("Tu presskit · 0 de 7")
    expect(panel).not_to_have_attribute("open", "")
    assert page.locator(".topbar").bounding_box()["height"] < 2 * TOUCH  # the brand and the switcher on one row
    positions = {"start": box_stays_in_view(page)}
    shoot(page, "layout-phone-start")
    assert serious_violations(page) == []
    assert focus_ring_failures(page) == []
    wide_screen_keeps_the_draft_beside_the_chat(page, "start")
    expect(panel).not_to_have_attribute("open", "")  # folded again on the phone

    for number, answer in enumerate(ANSWERS, start=1):
        if number == 3:
            summary.click()  # opened by the artist: it stays open through the next re-render
        if number == 5:
            summary.click()  # and closed, it stays closed
        if number < len(ANSWERS):
            send(page, answer)
            expect(page.locator("#progress")).to_contain_text(f"Paso {number + 1} de 7")
            expect(summary).to_have_text(f"Tu presskit · {number} de 7")
        else:  # the last answer brings two replies: the step's, then the bio's
            page.fill("#message", answer)
            page.keyboard.press("Enter")
            expect(page.locator("#progress")).to_contain_text("Presskit completo")
            expect(summary).to_have_text("Tu presskit · completo")
        if number == 1:
            expect(example).to_be_hidden()  # the artist's own presskit has begun
        if number in (3, 4):
            expect(panel).to_have_attribute("open", "")
        else:
            expect(panel).not_to_have_attribute("open", "")
        positions[f"after answer {number}"] = box_stays_in_view(page)
        if number == 4:
            assert serious_violations(page) == []
            shoot(page, "layout-phone-mid-chat-draft-open")
        if number == 5:
            assert serious_violations(page) == []
            shoot(page, "layout-phone-mid-chat")
            wide_screen_keeps_the_draft_beside_the_chat(page, "mid-chat")
    transcript = page.locator(".transcript")
    assert transcript.evaluate("e => e.scrollHeight > e.clientHeight")  # it is the transcript that scrolls

    # Complete: one tap on the summary, and the finished bio is the first thing in the panel.
    summary.click()
    bios = page.locator("#bios")
    expect(bios).to_be_visible()
    first = page.locator("#draft-panel > :not(summary)").first
    assert first.get_attribute("id") == "bios"
    bio, shown = page.locator(".bios__short").bounding_box(), panel.bounding_box()
    assert shown["y"] <= bio["y"] and bio["y"] + bio["height"] <= shown["y"] + shown["height"]  # in sight, unscrolled
    positions["complete, panel open"] = box_stays_in_view(page)
    shoot(page, "layout-phone-complete")
    assert serious_violations(page) == []
    assert focus_ring_failures(page) == []
    wide_screen_keeps_the_draft_beside_the_chat(page, "complete")
    expect(panel).to_have_attribute("open", "")  # the artist's choice, back on the phone

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "layout-phone-composer.json").write_text(json.dumps(
        {state: {"top": round(box["y"]), "bottom": round(box["y"] + box["height"])} for state, box in positions.items()},
        indent=2))


def test_a_streaming_reply_keeps_its_cursor_on_its_last_line_and_lines_up_with_the_messages(page):
    # A frame per word (not CHAT_STREAM_FRAME_SECONDS' few): the cursor is sampled after every word.
    server_process, server = start_daphne(server_environment(
        DATABASE_URL=database_url_of_test_db(), CHAT_TEMPLATE_TOKEN_DELAY="0.002", CHAT_STREAM_FRAME_SECONDS="0"))
    try:
        open_chat(page, server)
        page.evaluate(WATCH_STREAM)
        for answer in ANSWERS[:5]:
            send(page, answer)
        samples = page.evaluate("window.__stream")
    finally:
        server_process.stop()
    assert len(samples) > 50  # every word of five replies
    for sample in samples:
        assert abs(sample["cursorTop"] - sample["lastTop"]) <= 4, sample  # on the last word's line
        assert 0 <= sample["cursorLeft"] - sample["lastRight"] <= 8, sample  # right after it
        assert sample["bubble"] == sample["column"], sample


def test_the_photo_picker_is_a_real_file_input_styled_as_a_button(page, tmp_path):
    server_process, server = start_daphne(server_environment(
        DATABASE_URL=database_url_of_test_db(),
        PHOTO_STAGING_DIR=str(tmp_path / "uploads"),
        PHOTO_STORAGE_OPTIONS=json.dumps({"location": str(tmp_path / "photos"), "base_url": "/media/photos/"}),
    ))
    try:
        choose_a_photo_with_and_without_javascript(page, server)
    finally:
        server_process.stop()
    assert len(list((tmp_path / "photos").rglob("*.png"))) == 1  # the one sent without JavaScript


def choose_a_photo_with_and_without_javascript(page: Page, server: str) -> None:
    open_chat(page, server)
    page.locator("#draft-panel > summary").click()
    picker = page.locator("label[for=photo-file]")
    expect(picker).to_have_text("Elige una foto")
    assert picker.bounding_box()["height"] >= TOUCH
    assert page.locator("#photo-file").get_attribute("type") == "file"
    expect(page.locator("#photo-file-name")).to_be_hidden()  # nothing chosen yet
    page.locator("#photo-file").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # reached by the keyboard: the ring shows on the button
    assert "rgb(198, 244, 50) 0px 0px 0px 5px" in picker.evaluate("e => getComputedStyle(e).boxShadow")  # the ring
    page.set_input_files("#photo-file", files=[{"name": "retrato-luna.png", "mimeType": "image/png",
                                                "buffer": png_bytes(width=40, height=30)}])
    expect(page.locator("#photo-file-name")).to_have_text("retrato-luna.png")
    expect(page.locator("#photo-file-name")).to_be_visible()
    shoot(page, "layout-phone-photo-chosen")

    # Without JavaScript: the same input, sent by the form's own post.
    with page.context.browser.new_context(locale="es-ES", viewport=PHONE, java_script_enabled=False) as context:
        plain = context.new_page()
        plain.goto(server + "/")
        plain.locator("#draft-panel > summary").click()  # a <details>: opens without JavaScript
        expect(plain.locator("label[for=photo-file]")).to_be_visible()
        plain.set_input_files("#photo-file", files=[{"name": "retrato.png", "mimeType": "image/png",
                                                     "buffer": png_bytes(width=40, height=30)}])
        expect(plain.locator("#photo-file-name")).to_have_text("Foto elegida.")
        expect(plain.locator("#photo-file-name")).to_be_visible()
        plain.get_by_role("button", name="Subir foto").click()
        expect(plain.locator("#draft-panel")).to_have_attribute("open", "")  # the answer's page: its notice in sight
        expect(plain.locator("#photo")).to_contain_text("Foto guardada.")
        expect(plain.locator("#photo img")).to_be_visible()


def test_the_summary_counts_and_the_example_goes_in_english_too():
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = browser.get("/").content.decode()
    assert "Your presskit · 0 of 7" in page and ">Example</span>" in page
    browser.post("/", {"message": "Luna Roja"})
    page = browser.get("/").content.decode()
    assert "Your presskit · 1 of 7" in page and 'class="example"' not in page  # the artist's own has begun
