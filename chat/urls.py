from django.urls import path

from chat import views

app_name = "chat"
urlpatterns = [
    path("", views.chat_home, name="home"),
    path("photo", views.chat_photo, name="photo"),
    path("rider", views.chat_rider, name="rider"),
    path("e/<str:token>/", views.edit_link_open, name="edit_link"),
]
