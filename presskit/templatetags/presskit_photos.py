"""Template filters for the press photo panel."""
from django import template

from presskit.photos import photo_max_mb

register = template.Library()


@register.filter
def photo_limit(text: str) -> str:
    """A catalogue text with the photo size limit filled in (`{max_mb}`); still escaped."""
    return text.format(max_mb=photo_max_mb())
