from django.urls import path

from send import views

urlpatterns = [
    path("api/chat/send_message", views.SendMessageView.as_view()),
    path("api/chat/resend_message", views.ResendMessageView.as_view()),
    path("api/chat/messages", views.MessageHistoryView.as_view()),
    path("api/chat/edit_message", views.EditMessageView.as_view()),
    path("api/chat/delete_message", views.DeleteMessageView.as_view()),
    path("api/chat/react", views.ReactView.as_view()),
    path("api/chat/pin", views.PinView.as_view()),
    path("api/chat/pins", views.PinsView.as_view()),
    path("api/chat/events", views.EventsView.as_view()),
    path("api/chat/search", views.SearchView.as_view()),
    path("internal/pushback", views.PushbackView.as_view()),
    path("internal/push/notify_online", views.NotifyOnlineView.as_view()),
]
