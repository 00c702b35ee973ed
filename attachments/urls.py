"""Paths of attachments (API.md §10)."""

from django.urls import path

from attachments import views

urlpatterns = [
    path("api/chat/upload", views.UploadView.as_view()),
    # <key>/<timestamp>/<signature>: checked by the view (a malformed one is an invalid link).
    path("api/chat/files/<path:token>", views.file_view),
]
