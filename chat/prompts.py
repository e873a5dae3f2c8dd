"""What an AI provider is told: a system prompt that keeps it on the current step, and the
turn's facts. Our code has already decided validity and the next step; the model only words
the reply. Texts are data, per language."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from django.conf import settings

from chat.providers.base import ReplyKind, ReplyRequest
from chat.steps import TOTAL_STEPS, step_by_number
from chat.texts import catalogue_for, question

SYSTEM = {
    "es": (
        "Eres el asistente de ÍTERA PressKit y ayudas a un artista (músico o DJ) a crear su presskit, "
        "paso a paso, en una conversación. Reglas:\n"
        "- Responde en español, con calidez y brevedad: una o dos frases y, al final, la pregunta siguiente.\n"
        "- Reconoce lo que el artista acaba de contar con naturalidad, sin repetirlo entero.\n"
        "- No inventes datos sobre el artista: usa solo lo que aparece en «Lo que sabemos».\n"
        "- No decides si una respuesta es válida ni cambias de paso: eso ya está decidido y te lo indico.\n"
        "- Si la respuesta no era válida, explica el motivo indicado con amabilidad y vuelve a preguntar.\n"
        "- Termina con la pregunta siguiente tal como te la doy, sin añadir otras preguntas.\n"
        "- Sin listas, sin markdown, sin emojis."
    ),
    "en": (
        "You are ÍTERA PressKit's assistant, helping an artist (musician or DJ) build their presskit, "
        "step by step, in a conversation. Rules:\n"
        "- Answer in English, warmly and briefly: one or two sentences, then the next question.\n"
        "- Acknowledge what the artist just said naturally, without repeating all of it.\n"
        "- Never invent facts about the artist: use only what is under \"What we know\".\n"
        "- You do not decide whether an answer is valid or change the step: that is decided and given to you.\n"
        "- If the answer was not valid, explain the given reason kindly and ask again.\n"
        "- End with the next question exactly as given, with no other questions.\n"
        "- No lists, no markdown, no emojis."
    ),
}

LABELS = {
    "es": {
        "step": "Paso", "of": "de", "answer": "Lo que el artista respondió", "decision": "Decisión",
        "known": "Lo que sabemos", "next": "Siguiente pregunta", "nothing": "nada todavía",
        ReplyKind.ADVANCE: "respuesta válida y guardada",
        ReplyKind.REASK: "respuesta no válida ({reason}); se vuelve a preguntar",
        ReplyKind.EDIT_ASK: "el artista quiere cambiar esta respuesta; pídele la nueva",
        ReplyKind.EDIT_DONE: "respuesta cambiada y guardada; se retoma donde estábamos",
        ReplyKind.RESUME: "se retoma la conversación donde estaba",
        ReplyKind.COMPLETE: "último paso guardado: el presskit está completo; invítale a revisarlo",
        ReplyKind.ALREADY_COMPLETE: "el presskit ya está completo; puede editar respuestas en el panel",
        ReplyKind.RESTART: "el artista empieza de nuevo",
    },
    "en": {
        "step": "Step", "of": "of", "answer": "What the artist answered", "decision": "Decision",
        "known": "What we know", "next": "Next question", "nothing": "nothing yet",
        ReplyKind.ADVANCE: "valid answer, saved",
        ReplyKind.REASK: "answer not valid ({reason}); asking again",
        ReplyKind.EDIT_ASK: "the artist wants to change this answer; ask for the new one",
        ReplyKind.EDIT_DONE: "answer changed and saved; picking up where we were",
        ReplyKind.RESUME: "picking up the conversation where it was",
        ReplyKind.COMPLETE: "last step saved: the presskit is complete; invite them to review it",
        ReplyKind.ALREADY_COMPLETE: "the presskit is already complete; they can edit answers in the panel",
        ReplyKind.RESTART: "the artist starts over",
    },
}

# The bios (ReplyKind.BIO): three texts in one reply, each after its label (the one-liner, the
# short and the long bio), so one request writes them all and a reply without the short and long
# labels is recognisably not a bio (chat.bios parses it).
BIO_LABELS = {"es": ("FRASE:", "BREVE:", "LARGA:"), "en": ("ONE LINE:", "SHORT:", "LONG:")}
ONE_LINER_MAX_WORDS = 20  # festival programmes print a line, not a paragraph
BIO_SYSTEM = {
    "es": (
        "Eres el redactor de ÍTERA PressKit. Escribe la biografía de un artista (músico o DJ) para su "
        "presskit, en tercera persona, en español, con tono profesional y cercano. Reglas:\n"
        "- Usa solo los datos que te doy: no inventes premios, fechas, sellos ni colaboraciones.\n"
        f"- Tres versiones: una frase para el programa de un festival (como mucho {ONE_LINER_MAX_WORDS} "
        "palabras, con el nombre del artista, sus géneros y su ciudad), una breve (unas 50 palabras) y "
        "una larga (unas 200 palabras).\n"
        "- Sin listas, sin markdown, sin emojis, sin hashtags.\n"
        "- Responde exactamente con este formato, y nada más:\n"
        "FRASE: <la frase>\nBREVE: <la biografía breve>\nLARGA: <la biografía larga>"
    ),
    "en": (
        "You are ÍTERA PressKit's copywriter. Write an artist's (musician or DJ) bio for their presskit, "
        "in the third person, in English, professional and warm. Rules:\n"
        "- Use only the facts given: never invent awards, dates, labels or collaborations.\n"
        f"- Three versions: one line for a festival programme (at most {ONE_LINER_MAX_WORDS} words, naming "
        "the artist, their genres and their city), a short one (about 50 words) and a long one (about 200 words).\n"
        "- No lists, no markdown, no emojis, no hashtags.\n"
        "- Answer in exactly this format, and nothing else:\n"
        "ONE LINE: <the one line>\nSHORT: <the short bio>\nLONG: <the long bio>"
    ),
}

# The bios put in another of the page's languages (chat.bios): asked in the language they are put
# in, answered in the same labelled format as the bios (so the same parser reads them). The
# originals are shown under headings that are not the labels, so a reply is never the original.
LANGUAGE_NAMES = {"es": {"es": "español", "en": "inglés"}, "en": {"es": "Spanish", "en": "English"}}
TRANSLATION_SYSTEM = {
    "es": (
        "Eres el traductor de ÍTERA PressKit. Traduce al español, del {source}, la biografía de un artista "
        "(músico o DJ) para su presskit. Reglas:\n"
        "- Traducción fiel: no añadas, quites ni inventes nada.\n"
        "- Cada versión con la misma longitud que el original: la frase sigue siendo una frase (como mucho "
        f"{ONE_LINER_MAX_WORDS} palabras), la breve breve y la larga larga.\n"
        "- Los nombres (del artista, de ciudades, salas, sellos y festivales) y los géneros musicales se "
        "quedan tal cual, sin traducir.\n"
        "- Sin listas, sin markdown, sin emojis, sin hashtags.\n"
        "- Responde exactamente con este formato, y nada más:\n"
        "FRASE: <la frase>\nBREVE: <la biografía breve>\nLARGA: <la biografía larga>"
    ),
    "en": (
        "You are ÍTERA PressKit's translator. Translate an artist's (musician or DJ) presskit bio from "
        "{source} into English. Rules:\n"
        "- A faithful translation: add, drop or invent nothing.\n"
        f"- Each version as long as the original: the one line stays one line (at most {ONE_LINER_MAX_WORDS} "
        "words), the short one short and the long one long.\n"
        "- Names (the artist's, cities, venues, labels, festivals) and music genres stay as they are, "
        "untranslated.\n"
        "- No lists, no markdown, no emojis, no hashtags.\n"
        "- Answer in exactly this format, and nothing else:\n"
        "ONE LINE: <the one line>\nSHORT: <the short bio>\nLONG: <the long bio>"
    ),
}
TRANSLATION_HEADINGS = {
    "es": ("Frase original", "Biografía breve original", "Biografía larga original"),
    "en": ("Original one-liner", "Original short bio", "Original long bio"),
}

DEFAULT_TEMPERATURE = 0.7
SIMPLIFIED_TEMPERATURE = 0.3
SIMPLIFY_ABOVE_CHARS = 5000
SIMPLIFIED_CHARS = 3000


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str
    temperature: float = DEFAULT_TEMPERATURE
    max_tokens: int | None = None  # None: the provider's default (AI_MAX_TOKENS)

    @property
    def chars(self) -> int:
        return len(self.system) + len(self.user)

    @property
    def text(self) -> str:
        return f"{self.system}\n\n{self.user}"


@dataclass(frozen=True)
class BioTranslationRequest(ReplyRequest):
    """The bios (one-liner, short, long) written in `source_language`, to be put in `language`.
    A BIO request: the reply is in the bio's labelled format, read by the bio's parser."""

    source_language: str = ""
    source: tuple[str, str, str] = ("", "", "")


def next_question(request: ReplyRequest) -> str:
    return question(request.language, request.next_step)


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text.casefold())) + " "


def question_asked(reply: str, question_text: str) -> bool:
    """Whether a model's reply already asks `question_text`: a question mark near its end, or
    the question's first sentence in it, word for word (some questions are requests with no
    mark: "Ahora tu historia: cómo empezaste…")."""
    if "?" in reply[-200:]:
        return True
    first_sentence = re.split(r"(?<=[.:?!])\s", question_text.strip(), maxsplit=1)[0]
    return _words(first_sentence) in _words(reply)


def _bio_prompt(request: ReplyRequest) -> Prompt:
    catalogue = catalogue_for(request.language)
    facts = "\n".join(f"{catalogue.steps[name].label}: {value}" for name, value in request.answers.items())
    labels = "\n".join(f"{label} …" for label in BIO_LABELS[catalogue.language])
    return Prompt(system=BIO_SYSTEM[catalogue.language], user=f"{facts}\n\n{labels}",
                  max_tokens=settings.AI_BIO_MAX_TOKENS)


def _translation_prompt(request: BioTranslationRequest) -> Prompt:
    language = catalogue_for(request.language).language
    originals = "\n\n".join(f"{heading}:\n{text}" for heading, text in
                            zip(TRANSLATION_HEADINGS[language], request.source) if text)  # an old bio has no one-liner
    labels = "\n".join(f"{label} …" for label in BIO_LABELS[language])
    source = LANGUAGE_NAMES[language][catalogue_for(request.source_language).language]
    return Prompt(system=TRANSLATION_SYSTEM[language].format(source=source), user=f"{originals}\n\n{labels}",
                  max_tokens=settings.AI_BIO_MAX_TOKENS)


def build_prompt(request: ReplyRequest) -> Prompt:
    if isinstance(request, BioTranslationRequest):
        return _translation_prompt(request)
    if request.kind is ReplyKind.BIO:
        return _bio_prompt(request)
    catalogue = catalogue_for(request.language)
    language = catalogue.language
    labels = LABELS[language]
    field = step_by_number(request.step).field
    reason = (catalogue.invalid[request.reason_code].format(**request.reason_params)
              if request.reason_code else "")
    known = "; ".join(
        f"{catalogue.steps[name].label}: {value}" for name, value in request.answers.items()
    ) or labels["nothing"]
    lines = [
        f"{labels['step']} {request.step} {labels['of']} {TOTAL_STEPS} ({catalogue.steps[field].label})",
        f"{labels['decision']}: {labels[request.kind].format(reason=reason)}",
    ]
    if request.answer:
        lines.append(f"{labels['answer']}: «{request.answer}»")
    lines.append(f"{labels['known']}: {known}")
    if question := next_question(request):
        lines.append(f"{labels['next']}: {question}")
    return Prompt(system=SYSTEM[language], user="\n".join(lines))


def simplify(prompt: Prompt) -> Prompt | None:
    """For a context-length error: keep the head of the facts (the step, the decision, the
    answer) and the last line (the next question), cut the middle, lower the temperature.
    None when the prompt is already short: simplifying would not help."""
    if prompt.chars <= SIMPLIFY_ABOVE_CHARS:
        return None
    room = max(SIMPLIFIED_CHARS - len(prompt.system), 500)
    lines = prompt.user.split("\n")
    last = lines[-1]
    head = "\n".join(lines[:-1])[: max(room - len(last) - 1, 0)]
    return replace(prompt, user=f"{head}\n{last}", temperature=SIMPLIFIED_TEMPERATURE)
