from django.urls import path, re_path

from send.views import devices, internal, messages, reading, timeline

urlpatterns = [
    path("api/chat/send_message", messages.SendMessageView.as_view()),
    path("api/chat/resend_message", messages.ResendMessageView.as_view()),
    path("api/chat/messages", messages.MessageHistoryView.as_view()),
    path("api/chat/edit_message", timeline.EditMessageView.as_view()),
    path("api/chat/delete_message", timeline.DeleteMessageView.as_view()),
    path("api/chat/react", timeline.ReactView.as_view()),
    path("api/chat/pin", timeline.PinView.as_view()),
    path("api/chat/pins", timeline.PinsView.as_view()),
    path("api/chat/events", timeline.EventsView.as_view()),
    path("api/chat/search", timeline.SearchView.as_view()),
    path("internal/pushback", internal.PushbackView.as_view()),
    path("internal/push/notify_online", internal.NotifyOnlineView.as_view()),
    path("api/chat/read", reading.ReadView.as_view()),
    path("api/joined_rooms", reading.JoinedRoomsView.as_view()),
    path("api/me/devices", devices.DevicesView.as_view()),
    re_path(r"^api/me/devices/(?P<device_id>[A-Za-z0-9._-]{1,64})$", devices.DeviceView.as_view()),
]
