from django.urls import re_path

from chat.consumers import ChatConsumer

# Any id is routed to the consumer, which refuses unknown ones with a reason the page can show.
websocket_urlpatterns = [
    re_path(r"^ws/chat/(?P<session_id>[^/]{1,64})/$", ChatConsumer.as_asgi()),
]
