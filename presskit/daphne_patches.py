"""Two of Daphne's behaviours changed where it offers no setting. Applied by presskit.asgi, in
the server's process; each does nothing under another ASGI server."""
from __future__ import annotations


def daphne_form_parsing_off() -> None:
    """Daphne's requests are Twisted's, which parse a POSTed form (multipart or urlencoded) whole
    in memory, several copies of it, before Daphne hands the raw body to the application, though
    nothing ever reads what they parsed (Django parses the body itself, once, within its limits).
    Twisted takes `parsePOSTFormSubmission=False`, but Daphne builds its requests without a way to
    pass it: this makes it False for every Daphne request (a data descriptor on the class wins
    over the attribute its __init__ sets). Called by presskit.asgi, in the server's process."""
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # served by another ASGI server
        return
    WebRequest._parsePOSTFormSubmission = property(lambda request: False, lambda request, value: None)


def daphne_websocket_close_codes_on() -> None:
    """A WebSocket message over Daphne's limit (1 MiB), or a protocol error, ends with a close
    frame naming it (1009 "message too big", 1002…) rather than a dropped TCP connection: the
    client learns why. Autobahn's `failByDrop` (True by default; Daphne sets no other) decides;
    its factory sets it in `resetProtocolOptions`, which every connection copies."""
    try:
        from daphne.ws_protocol import WebSocketFactory
    except ImportError:  # served by another ASGI server
        return
    reset = WebSocketFactory.resetProtocolOptions

    def reset_with_close_codes(factory: WebSocketFactory) -> None:
        reset(factory)
        factory.failByDrop = False

    WebSocketFactory.resetProtocolOptions = reset_with_close_codes
