"""ASGI entry point: `daphne presskit.asgi:application` serves HTTP and WebSockets."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "presskit.settings")
# Build the Django app (and so load settings and apps) before importing anything that uses models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from presskit.body_limit import RequestBodyLimit  # noqa: E402
from presskit.collector import collector_tuned  # noqa: E402
from presskit.daphne_patches import daphne_form_parsing_off, daphne_websocket_close_codes_on  # noqa: E402
from presskit.origins import WebsocketOriginValidator  # noqa: E402
from presskit.shedding import ShedNewChats  # noqa: E402

daphne_form_parsing_off()
daphne_websocket_close_codes_on()

application = ProtocolTypeRouter(
    {
        "http": ShedNewChats(RequestBodyLimit(django_asgi_app)),
        # The chat's sockets need the session (the chats it owns), never a user: no user is looked up
        # (Channels' AuthMiddleware would, through its one thread-sensitive thread, at every handshake).
        "websocket": WebsocketOriginValidator(SessionMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
collector_tuned()  # last: what is loaded by now lives as long as the process
