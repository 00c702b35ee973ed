from django.urls import path

from send import views

urlpatterns = [
    path("api/chat/send_message", views.SendMessageView.as_view()),
    path("api/chat/resend_message", views.ResendMessageView.as_view()),
    path("api/chat/messages", views.MessageHistoryView.as_view()),
    path("internal/pushback", views.PushbackView.as_view()),
    path("internal/push/notify_online", views.NotifyOnlineView.as_view()),
]
