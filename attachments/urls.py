"""Paths of attachments (API.md §10)."""

from django.urls import path, re_path

from attachments import views

urlpatterns = [
    path("api/chat/upload", views.UploadView.as_view()),
    re_path(r"^api/chat/files/(?P<token>[A-Za-z0-9_-]{1,64}/[0-9A-Za-z]{1,16}/[A-Za-z0-9_-]{1,128})$", views.file_view),
]
