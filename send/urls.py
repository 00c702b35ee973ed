from django.urls import path, re_path

from send import device_views, read_views, views

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
    path("api/chat/read", read_views.ReadView.as_view()),
    path("api/joined_rooms", read_views.JoinedRoomsView.as_view()),
    path("api/me/devices", device_views.DevicesView.as_view()),
    re_path(r"^api/me/devices/(?P<device_id>[A-Za-z0-9._-]{1,64})$", device_views.DeviceView.as_view()),
]
