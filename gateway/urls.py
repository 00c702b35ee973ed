from django.urls import path

from gateway import views

urlpatterns = [path("center/forward", views.ForwardView.as_view())]
