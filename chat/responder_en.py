"""The English texts of the chat: what the assistant asks, answers and explains."""
import re

from chat.catalogue import Catalogue, Pattern, SectionTexts, StepTexts


def _p(regex: str, reply: str) -> Pattern:
    return Pattern(re.compile(regex, re.IGNORECASE), reply)


CATALOGUE = Catalogue(
    language="en",
    steps={
        "artist_name": StepTexts(
            label="Artist name",
            question="To start, what's your artist name?",
            hint="Exactly as you want it on the posters. E.g. Luna Roja",
            acknowledgements=(
                "Lovely to meet you, {value}!",
                "Great to meet you, {value}!",
                "{value}: that looks good on a festival line-up.",
            ),
            patterns=(
                _p(r"^(dj|mc)\b", "{value}, love it! Name saved."),
                _p(r"\b(band|trio|trío|duo|quartet|orchestra|ensemble|collective|crew|"
                   r"banda|cuarteto|orquesta|colectivo)\b",
                   "Great, {value}! Project name saved."),
            ),
        ),
        "genres": StepTexts(
            label="Genres",
            question="Which genres or styles define your music? You can list up to five, separated by commas.",
            hint="E.g. house, melodic techno, disco",
            acknowledgements=(
                "{value}: got it, {name}.",
                "Perfect, {value}. I'm getting a feel for your sound.",
            ),
            patterns=(
                _p(r"techno", "Techno in the presskit: promoters look for it a lot. Saved: {value}."),
                _p(r"house|disco", "Nice groove! Saved: {value}."),
                _p(r"flamenco|rumba|copla|folk", "Roots with character: {value}. Saved."),
                _p(r"reggaet|urban|trap|dembow|hip ?hop|rap|grime|drill|r&b",
                   "Urban sound: {value}. Saved."),
                _p(r"rock|punk|metal|indie", "Guitars up front: {value}. Saved."),
                _p(r"jazz|soul|funk|blues", "Serious craft in those styles: {value}. Saved."),
            ),
            suggestions=("House", "Techno", "Indie", "Pop", "Reggaeton", "Flamenco", "Jazz", "Drum & Bass"),
        ),
        "experience": StepTexts(
            label="Experience",
            question="How long have you been making music? Tell me the years, or the year you started.",
            hint="E.g. 8 years, or since 2016",
            acknowledgements=(
                "Got it: {value}.",
                "Perfect: {value}. Experience counts for a lot in a presskit.",
            ),
            patterns=(
                _p(r"\b(1\d|[2-9]\d)\s*\+?\s*(years?|yrs?|años)\b"
                   r"|\b(ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|"
                   r"nineteen|twenty|thirty|forty)\s*\+?\s*(years?|yrs?)\b"
                   r"|\bdecades?\b|\b(19[5-9]\d|200\d)\b",
                   "Quite a career! Saved: {value}."),
                _p(r"\b([1-3]|a|an|one|two|three|un|una|dos|tres)\s*(years?|yrs?|año|años)\b"
                   r"|\b(\d{1,2}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                   r"a few|few|several|some|un|una|dos|tres|seis)\s*(months?|meses|mes)\b"
                   r"|\bhalf a year\b|\bmedio año\b|\b202[2-9]\b",
                   "Great start! Everyone begins somewhere. Saved: {value}."),
            ),
            suggestions=("1 year", "3 years", "5 years", "10 years", "Since 2015"),
        ),
        "location": StepTexts(
            label="Base and venues",
            question="Which city are you based in, and where do you usually play?",
            hint="E.g. London; I play clubs and festivals across the UK and Europe",
            acknowledgements=("Got it: {value}.", "Perfect, {value}. Now promoters know where to find you."),
            patterns=(
                _p(r"festival", "Festivals on your map: that sells. Saved: {value}."),
                _p(r"tour|international|abroad|worldwide|europe|latam|latin america|"
                   r"gira|internacional|latinoam",
                   "Playing beyond home: saved, {value}."),
            ),
            suggestions=("London", "New York", "Los Angeles", "Berlin", "Madrid", "Mexico City"),
        ),
        "story": StepTexts(
            label="Your story",
            question=(
                "Now your story: how you got started, your influences and your biggest achievements. "
                "A few sentences is enough."
            ),
            hint="Between 20 and 2000 characters. E.g. I started out spinning my dad's records…",
            acknowledgements=(
                "Thanks for sharing, {name}. That's the heart of your bio.",
                "Great story, {name}. I'll keep it for your bio.",
            ),
        ),
        "links": StepTexts(
            label="Socials and music",
            question=(
                "Where can people listen to you and follow you? Paste your links (Instagram, SoundCloud, "
                "Spotify, YouTube, Bandcamp, website) or your @handle, separated by spaces or commas."
            ),
            hint="E.g. @lunaroja soundcloud.com/lunaroja",
            acknowledgements=("Links saved: {value}.", "Perfect, now I know where to listen to you."),
        ),
        "booking_email": StepTexts(
            label="Booking contact",
            question="Last one: which email should promoters write to for bookings?",
            hint="E.g. booking@lunaroja.com",
            acknowledgements=("Booking email saved: {value}.",),
        ),
    },
    greeting=(
        "Hi! I'm the ÍTERA assistant, and we're going to build your presskit together in 7 steps. "
        "Your answers are saved as soon as you send them."
    ),
    reask="{reason} {question}",
    edit_ask="Let's change “{label}”. Right now it's: {value}. {question}",
    edit_done="Changed: “{label}” is now {value}. Let's pick up where we left off: {question}",
    edit_done_complete="Changed: “{label}” is now {value}. Your presskit is up to date.",
    resume="Let's pick up where we left off: {question}",
    complete=(
        "All done, {name}! I have all 7 steps of your presskit. Check your answers in the "
        "“Your presskit” panel and tap “Edit” on any of them to change it."
    ),
    already_complete=(
        "Your presskit is already complete, {name}. To change something, tap “Edit” next to "
        "the answer in the “Your presskit” panel."
    ),
    restart="Let's start again. {question}",
    emergency=(
        "Got it. Let's keep going.",
        "Perfect, saved. Let's continue.",
        "Received. On to the next one.",
    ),
    invalid={
        "show_date": "I can't read the date: write it with day, month and year, e.g. 14/02/2027.",
        "show_past": "That date has passed: this is for upcoming ones.",
        "show_parts": "I need the date, the venue and the city, separated by commas.",
        "quote_parts": "I need the quote and who wrote it, separated by a dash: “quote” — outlet.",
        "too_long": "That's a bit long: {max} characters at most.",
        "section_full": "You already have {max}; remove one from the panel to add another.",
        "name_length": "Your artist name must be between 2 and 50 characters.",
        "genres_empty": "I need at least one genre.",
        "genres_too_many": "You've listed {count} genres; pick up to 5, the ones that define you best.",
        "genre_too_long": "“{genre}” is too long for a genre (40 characters max).",
        "experience_unclear": "I couldn't find a length of time or a year in your answer.",
        "experience_future_year": "{year} hasn't happened yet.",
        "experience_too_long": "A short sentence is enough (200 characters max).",
        "location_empty": "I need at least your city.",
        "location_too_long": "Please shorten it a little (200 characters max).",
        "story_too_short": "Your story is a bit short ({length} characters); tell me at least 20.",
        "story_too_long": "Your story is {length} characters; the maximum is 2000. Please trim it a little.",
        "links_empty": "I need at least one link or @handle.",
        "links_too_many": "You've added {count} links; 10 at most is plenty.",
        "link_invalid": "“{link}” doesn't look like a valid link or @handle.",
        "email_invalid": "That doesn't look like a valid email.",
        "email_too_long": "That email is too long (at most {max} characters). Do you have a shorter one for bookings?",
    },
    sections={
        "dates": SectionTexts(
            label="Upcoming dates", chip="Dates",
            question=("Which dates do you have? One per message: date, venue and city, separated by commas, and the "
                      "ticket link if there is one."),
            hint="E.g.: 14/02/2027, Sala Apolo, Barcelona, https://tickets.example/apolo",
            saved="Noted: {value}. Another date? Type it, or say “done” to finish.",
            keywords=("date", "dates", "gigs", "shows", "tour"),
        ),
        "quotes": SectionTexts(
            label="Press", chip="Press quotes",
            question="Paste a press quote and, after a dash, who wrote it.",
            hint="E.g.: “A hypnotic set from start to finish” — Mixmag",
            saved="Noted: {value}. Another quote? Paste it, or say “done” to finish.",
            keywords=("quote", "quotes", "press", "review", "reviews"),
        ),
        "sounds_like": SectionTexts(
            label="Sounds like", chip="Sounds like",
            question="Who do you sound like? Name two or three artists a promoter would know.",
            hint="E.g.: Bicep, Four Tet, Peggy Gou",
            saved="Noted: you sound like {value}.",
            keywords=("sounds", "sound", "references"),
        ),
        "rider": SectionTexts(
            label="Tech rider", chip="Tech rider",
            question="Type your tech rider: the gear you need in the booth or on stage.",
            hint="E.g.: 2 CDJ-3000, DJM-900NXS2 mixer, 2 booth monitors",
            saved="Noted your tech rider.",
            keywords=("rider", "gear", "technical"),
        ),
    },
    sections_offer=("Want to add anything else? Dates, press quotes, who you sound like or your tech rider: "
                    "pick below. None of it is needed to publish."),
    section_done="Done.",
    done_words=frozenset({"done", "no", "none", "nothing", "that's all", "thats all", "finish", "finished", "stop",
                          "enough", "ok done"}),
    errors={
        "binary": "I can only read text messages.",
        "too_large": "Your message is too long. Please shorten it and send it again.",
        "too_fast": "Slow down a little, please: wait a few seconds and send it again. Your message is still in the box.",
        "overloaded": (
            "Lots of artists are connected right now. What you have written is saved: this tab will connect by "
            "itself in a moment."
        ),
        "too_many_sockets": (
            "You have too many ÍTERA tabs open at once. Close one: this one will connect by itself as soon as it can."
        ),
        "not_json": "I couldn't read your message. Please send it again.",
        "no_message": "I didn't get an answer. Type it in the box and press “Send”.",
        "empty_message": "Your answer is empty. Type something before sending.",
        "unknown_action": "I don't recognise that action.",
        "bad_step": "You can only edit steps you've already answered.",
        "not_editing": "You are not editing any answer.",
        "not_started": "You have not answered anything yet: start with the first question, in the answer box.",
        "nothing_to_remove": "That was not in your presskit any more.",
        "photo_gone": "That photo was not in your presskit any more.",
        "credit_too_long": "A photo credit may be up to 120 characters long. Shorten it and save it again.",
        "read_only": "Editing, starting over and publishing wait until the service is back. New answers are still kept.",
        "internal": "Something went wrong while replying. What you already sent is saved; please try again in a moment.",
        "session_unknown": "This conversation doesn't exist. Reload the page to start a new one.",
        "session_not_yours": "This conversation belongs to someone else. Reload the page to open yours.",
        "kept_refused": "We could not save an answer you sent during the incident: it did not fit your presskit. Please write it again.",
        "not_complete": "Finish the seven steps first; then you can publish your presskit.",
        "taken_down": "The ÍTERA team has taken your page down and it cannot be published now. Write to us and we will look into it.",
        "not_published": "Your page is not published, so there is nothing to take down.",
    },
    publishing={
        "published_first": (
            "Your presskit is published! This is the link to send to promoters and venues: {url} "
            "(it is in the panel too, with a button to copy it)."
        ),
        "published_again": "I have published your changes: version {number} is now at {url}",
        "unpublished": "I have taken your page down: the link shows nothing now. Your data is still here and you can publish again whenever you like.",
        "edit_link": "I have made you a new private link to edit from another device; the old one no longer works. It is just above the reply box.",
        "listed": "Your page will show up in search engines such as Google; it may take a few days.",
        "listed_unpublished": "Your page will show up in search engines as soon as you publish it.",
        "unlisted": "Your page will no longer show up in search engines; anyone with the link can still see it.",
        "unlisted_unpublished": "When you publish your page, it will not show up in search engines: only people with the link will see it.",
    },
    bios={
        # The template bio, in the third person ({name} {genres} {base} {where} {year} {duration}
        # {experience} {quote}); `solo`, `duo` and `group` variants where the grammar differs.
        "and": "and",
        "intro_solo": "{name} is a {genres} artist based in {base}.",
        "intro_duo": "{name} is a {genres} duo based in {base}.",
        "intro_group": "{name} is a {genres} band based in {base}.",
        "since_solo": "Active since {year}.",
        "since_duo": "Active since {year}.",
        "since_group": "Active since {year}.",
        "for_solo": "Active for {duration}.",
        "for_duo": "Active for {duration}.",
        "for_group": "Active for {duration}.",
        "where_preposition": "in",
        "career": "Career: {experience}.",
        "where_solo": "They play {where}.",
        "where_duo": "They play {where}.",
        "where_group": "They play {where}.",
        "quote_solo": "In their own words: “{quote}”",
        "quote_duo": "In their own words: “{quote}”",
        "quote_group": "In their own words: “{quote}”",
        "closing_solo": "Their music and profiles are linked in this presskit.",
        "closing_duo": "Their music and profiles are linked in this presskit.",
        "closing_group": "Their music and profiles are linked in this presskit.",
        # The one-liner, for festival programmes: "{name}: …", the career only when it is a date
        # or a span ({year} {duration}).
        "one_liner_solo": "{name}: {genres} artist based in {base}",
        "one_liner_duo": "{name}: {genres} duo based in {base}",
        "one_liner_group": "{name}: {genres} band based in {base}",
        "one_liner_since": ", active since {year}",
        "one_liner_for": ", active for {duration}",
        "written_ai": "I've written your bio, short and long: it's in the “Your presskit” panel.",
        "written_template": "I've put your bio together from your answers: it's in the “Your presskit” panel.",
        "queued": (
            "The AI service isn't available right now, so I've put your bio together from your "
            "answers. As soon as it's back, the AI will write an improved version and it will show up "
            "here by itself; you don't need to do anything."
        ),
        "arrived": "Your AI-written bio is here! It's in the “Your presskit” panel.",
    },
    ui={
        "title": "Build your presskit",
        "tagline": "Your professional presskit in 7 steps, just by chatting.",
        "progress": "Step {step} of {total}",
        "progress_complete": "Presskit complete",
        "composer_label": "Your answer",
        "skip_to_answer": "Skip to your answer",
        "placeholder": "Type your answer…",
        "placeholder_complete": "Your presskit is complete: change any answer from the panel, or publish it.",
        "send": "Send",
        "suggestions": "Suggestions",
        "bio_title": "Bio",
        "bio_one_liner": "In one line",
        "bio_short": "Short",
        "bio_long": "Long",
        "bio_by_ai": "Written by the AI",
        "bio_by_template": "Put together from your answers",
        "bio_pending": "The AI will write an improved version as soon as the service is back.",
        "bio_in_en": "In English",  # the bio translated (chat.bios), by language
        "bio_in_es": "In Spanish",
        "draft_title": "Your presskit",
        "draft_empty": "Your answers will show up here.",
        # The draft panel folded on a phone, the photo picker, and the start screen's example.
        "draft_summary": "Your presskit · {count} of {total}",
        "draft_summary_complete": "Your presskit · complete",
        "photo_chosen": "Photo chosen.",
        "example_badge": "Example",
        "example_caption": "This is how your presskit will look once you publish it.",
        "example_name": "Noa Vértice",
        "example_genres": "Techno · Electro · Breaks",
        "example_bio": "DJ and producer from Valencia. Ten years behind the decks, from neighbourhood clubs to major festivals.",
        "example_published": "Published",
        "example_link": "/p/noa-vertice",
        "edit": "Edit",
        "edit_field": "Edit {label}",
        "editing": "Editing",
        "cancel_edit": "Keep it as it was",
        "restart": "Start over",
        "restart_confirm": "Are you sure? Your answers will be deleted and you'll start again from step 1.",
        "connecting": "Connecting…",
        "connected": "Connected",
        "reconnecting": "Connection lost. Reconnecting…",
        "offline_send": "You're offline: your answer stays in the box and you can send it once you reconnect.",
        "refused": "This conversation can't be opened.",
        "you": "You",
        "assistant": "ÍTERA assistant",
        "fallback_badge": "backup",
        "fallback_why": "This reply comes from backup mode: the main assistant was not available. Your answer was saved all the same.",
        "kept_pending": "Kept: it will be applied by itself as soon as the service is back.",
        "language": "Language",
        "change_language": "Change",
        "typing": "The assistant is typing…",
        "still_here": "One moment, I'm still with you…",
        "mode_backup": "Backup mode on",
        "banner_backup": (
            "Using backup mode to keep the service running. "
            "Full functionality will be restored automatically."
        ),
        # One plain line per level under the banner: what still works, what waits.
        "banner_detail_degraded": "Everything works: the assistant is answering from a backup service.",
        "banner_detail_limited": (
            "Your answers are saved and the assistant replies with prepared texts; the AI-written bio will "
            "come when the service is back."
        ),
        "banner_detail_minimal": (
            "Your answers are kept and will be applied by themselves as soon as the service is back; editing "
            "and publishing wait until then."
        ),
        "banner_no_database": (
            "We can't open your conversation right now because of a technical problem; your answers are safe. "
            "We'll be right back: this page will refresh itself."
        ),
        "banner_emergency": "ÍTERA is under emergency maintenance. We'll be right back: this page will refresh itself.",
        "banner_too_many_chats": (
            "Many chats have been started from your connection in a short time. Wait a while and reload the page; "
            "if you share a network with other artists, write to us and we'll sort it out."
        ),
        "placeholder_backup": "Backup mode on: basic features available",
        "placeholder_minimal": "Type your answer: it is kept and will be applied as soon as the service is back",
        "status_title": "We'll be right back",
        "photo_title": "Press photos",
        "photo_label": "Choose a photo",
        "photo_hint": "JPEG, PNG or WebP, up to {max_mb} MB. Up to {max_photos} photos; the first is the cover.",
        "photo_submit": "Upload photo",
        "photo_add": "Add another photo",
        "photo_alt": "Your press photo {number}",
        "photo_none": "You have not uploaded a photo yet.",
        "photo_pending": "Your photo is safe and will be uploaded as soon as the storage is available again.",
        "photo_count": "{count} of {max} photos",
        "photo_full": "You have {max} photos, the most there can be. Remove one to upload another.",
        "photo_cover": "Cover",
        "photo_credit_label": "Credit (photographer)",
        "photo_credit_placeholder": "E.g. Ana Pérez",
        "photo_credit_save": "Save credit",
        "photo_credit_aria": "Credit of photo {number}",
        "photo_earlier": "Earlier",
        "photo_later": "Later",
        "photo_earlier_aria": "Move photo {number} earlier",
        "photo_later_aria": "Move photo {number} later",
        "photo_remove": "Remove",
        "photo_remove_aria": "Remove photo {number}",
        "photo_stored": "Photo saved.",
        "photo_queued": (
            "Your photo is safe: we will upload it as soon as the storage is available again. "
            "You don't need to do anything."
        ),
        "photo_failed": (
            "Your photo is safe on our server, but we could not upload it. Our team will look into it; "
            "you can also try again later."
        ),
        "photo_error_type": "That file is not a JPEG, PNG or WebP photo. Nothing was saved: choose another one.",
        "photo_error_too_big": "The photo is larger than {max_mb} MB. Nothing was saved: try a lighter one.",
        "photo_error_too_many_pixels": (
            "The photo has more than {max_mp} megapixels. Nothing was saved: try one with a lower resolution."
        ),
        "photo_error_broken": (
            "We could not open that photo: the file is damaged or incomplete. Nothing was saved: choose another one."
        ),
        "photo_error_empty": "You did not choose a photo, or the file is empty. Nothing was saved.",
        "photo_error_too_many": "You have {max_photos} photos, the most there can be. Nothing was saved: remove one and upload it again.",
        "photo_error_credit": "A credit may be up to {max_credit} characters long. Nothing was saved: shorten it.",
        "photo_error_unavailable": (
            "We cannot take photos right now. Nothing was saved: please try again in a few minutes."
        ),
        "photo_error_not_yours": "This conversation is not yours: you cannot upload a photo to it. Nothing was saved.",
        "photo_back": "Back to your chat",
        "save_field": "Save",
        "publish_title": "Publish",
        "publish_lead": "This is how your presskit looks to whoever opens your link. Review and edit anything; publish it when you like it.",
        "publish": "Publish",
        "publish_changes": "Publish changes",
        # Which link plays on the public page.
        "player_title": "Your music on the page",
        "player_playing": "Plays on your page",
        "player_use": "Use this one",
        # The optional sections in the panel and under the box.
        "sections_title": "Optional sections",
        "sections_offer_label": "Add to your presskit",
        "section_add": "Add",
        "section_change": "Change",
        "section_remove": "Remove",
        "section_none": "Nothing yet.",
        "section_finish": "Done",
        # The tech rider as a PDF, in the optional sections.
        "rider_pdf_label": "Choose a PDF",
        "rider_pdf_chosen": "PDF chosen.",
        "rider_pdf_hint": "Your rider as a PDF, up to {max_mb} MB and {max_pages} pages.",
        "rider_pdf_submit": "Upload rider PDF",
        "rider_pdf_replace": "Change the PDF",
        "rider_pdf_line": "Rider PDF uploaded.",
        "rider_pdf_name": "Rider PDF",
        "rider_pdf_stored": "Rider PDF saved.",
        "rider_pdf_error_type": "That file is not a PDF. Nothing was saved: choose another one.",
        "rider_pdf_error_too_big": "The PDF is larger than {max_mb} MB. Nothing was saved: try a lighter one.",
        "rider_pdf_error_broken": (
            "We could not open that PDF: the file is damaged or incomplete. Nothing was saved: choose another one."
        ),
        "rider_pdf_error_encrypted": (
            "That PDF is password-protected or encrypted. Nothing was saved: upload it without protection."
        ),
        "rider_pdf_error_pages": "The PDF must have between 1 and {max_pages} pages. Nothing was saved.",
        "rider_pdf_error_empty": "You did not choose a PDF, or the file is empty. Nothing was saved.",
        "rider_pdf_error_not_complete": (
            "You can upload your rider PDF once you have finished the seven steps. Nothing was saved."
        ),
        "rider_pdf_error_unavailable": (
            "We cannot take files right now. Nothing was saved: please try again in a few minutes."
        ),
        "rider_pdf_error_not_yours": "This conversation is not yours: you cannot upload a PDF to it. Nothing was saved.",
        "published_state": "Published: version {number}, since {date}.",
        # What the public page got in the last seven days (presskit.stats): no cookie, no IP, no bots.
        "stats_week": "This week: {view}, {play}, {pdf}, {zip} and {link}.",
        "stats_view_one": "1 view", "stats_view_many": "{n} views",
        "stats_play_one": "1 play", "stats_play_many": "{n} plays",
        "stats_pdf_one": "1 PDF download", "stats_pdf_many": "{n} PDF downloads",
        "stats_zip_one": "1 ZIP download", "stats_zip_many": "{n} ZIP downloads",
        "stats_link_one": "1 link click", "stats_link_many": "{n} link clicks",
        "stats_note": "Counted without cookies or IP addresses, and without the bots that say they are bots.",
        "draft_changed": "You have unpublished changes.",
        "draft_same": "What is published is up to date.",
        "public_link": "Public link",
        "copy": "Copy link",
        "copied": "Copied!",
        "open_page": "See my page",
        "unpublish": "Take the page down",
        "unpublish_confirm": "Take your page down? The link will stop working until you publish again.",
        "listed_state": "Search engines: yes. Anyone can find your page by searching for your name.",
        "unlisted_state": "Search engines: no. Only people with the link see your page.",
        "list": "Show in search engines",
        "unlist": "Remove from search engines",
        "taken_down_state": "The ÍTERA team has taken your page down. Write to us if you think it is a mistake.",
        "edit_link_title": "Your private edit link",
        "edit_link_about": "To keep editing your presskit from another browser or device.",
        "edit_link_warning": "Whoever has this link can edit your presskit: keep it like a password and do not share it.",
        "edit_link_once": "Copy it now: for your safety we will not show it again. If you lose it, make a new one.",
        "edit_link_new": "Make a new private link",
        "edit_link_new_confirm": "The previous private link will stop working. Make a new one?",
        "edit_link_copy": "Copy private link",
        "edit_link_invalid_title": "This private link does not work",
        "edit_link_invalid": "A newer one may have been made, or it was copied wrongly. Open it in the browser where you made your presskit and make a new one.",
    },
)
