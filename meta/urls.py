"""Paths of the meta service (API.md §2), exactly as the contract spells them."""

from django.urls import path

from meta import settings_views, views

urlpatterns = [
    path("register", views.RegisterView.as_view()),
    path("login", views.LoginView.as_view()),
    path("api/token/refresh", views.TokenRefreshView.as_view()),
    path("api/chat/group/create", views.GroupCreateView.as_view()),
    path("api/chat/group/add_member", views.AddMemberView.as_view()),
    path("api/chat/group/add_members", views.AddMembersView.as_view()),
    path("api/chat/group/remove_member", views.RemoveMemberView.as_view()),
    path("api/chat/group/join", views.JoinView.as_view()),
    path("api/chat/group/join/request", views.JoinRequestView.as_view()),
    path("api/chat/group/join/requests", views.JoinRequestsView.as_view()),
    path("api/chat/group/join/respond", views.JoinRespondView.as_view()),
    path("api/chat/group/change_nickname", views.ChangeNicknameView.as_view()),
    path("api/chat/group/change_member_role", views.ChangeMemberRoleView.as_view()),
    path("api/chat/group/search", views.SearchView.as_view()),
    path("api/joined_rooms", views.JoinedRoomsView.as_view()),
    path("api/chat/group/members", views.MembersView.as_view()),
    path("api/me/settings", settings_views.SettingsView.as_view()),
]
