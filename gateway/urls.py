from django.urls import path

from gateway import pages, views

urlpatterns = [
    path("center/forward", views.ForwardView.as_view()),
    path("", pages.client_page, name="client"),
]
