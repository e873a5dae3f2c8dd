from django.urls import re_path

from chat.consumers import ChatConsumer, NoSuchSocketConsumer

# Any id is routed to the consumer, which refuses unknown ones with a reason the page can show;
# any other path is refused the same way (without a route the handshake would end in a 500).
websocket_urlpatterns = [
    re_path(r"^ws/chat/(?P<session_id>[^/]+)/$", ChatConsumer.as_asgi()),
    re_path(r"", NoSuchSocketConsumer.as_asgi()),
]
