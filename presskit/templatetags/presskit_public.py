"""Template filters of the public presskit page."""
import json

from django import template
from django.utils.safestring import mark_safe

register = template.Library()

# Inside <script> nothing may close the element or open a comment: <, > and & as JSON escapes.
_SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


@register.filter
def json_ld(value: object) -> str:
    """`value` as JSON safe to place inside <script type="application/ld+json">."""
    return mark_safe(json.dumps(value, ensure_ascii=False).translate(_SCRIPT_ESCAPES))
