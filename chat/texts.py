"""The chat's texts by language: Spanish first, English available."""
from django.conf import settings

from chat import responder_en, responder_es
from chat.catalogue import Catalogue

CATALOGUES: dict[str, Catalogue] = {
    responder_es.CATALOGUE.language: responder_es.CATALOGUE,
    responder_en.CATALOGUE.language: responder_en.CATALOGUE,
}


def catalogue_for(language: str) -> Catalogue:
    return CATALOGUES.get(language) or CATALOGUES[settings.LANGUAGE_CODE]


def question(language: str, step_number: int | None) -> str:
    """The question a step asks, in the language; "" for no step (the presskit is complete)."""
    if step_number is None:
        return ""
    from chat.steps import step_by_number

    return catalogue_for(language).steps[step_by_number(step_number).field].question
