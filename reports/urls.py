"""Paths of reports (API.md §9)."""

from django.urls import path

from reports import views

urlpatterns = [
    path("api/chat/report", views.ReportView.as_view()),
]
