"""Paths of the meta service (API.md §2), exactly as the contract spells them."""

from django.urls import path

from meta.views import join_requests, members, people, room_settings, rooms, users

urlpatterns = [
    path("register", users.RegisterView.as_view()),
    path("login", users.LoginView.as_view()),
    path("api/token/refresh", users.TokenRefreshView.as_view()),
    path("api/chat/group/create", rooms.GroupCreateView.as_view()),
    path("api/chat/group/add_member", members.AddMemberView.as_view()),
    path("api/chat/group/add_members", members.AddMembersView.as_view()),
    path("api/chat/group/remove_member", members.RemoveMemberView.as_view()),
    path("api/chat/group/join", members.JoinView.as_view()),
    path("api/chat/group/join/request", join_requests.JoinRequestView.as_view()),
    path("api/chat/group/join/requests", join_requests.JoinRequestsView.as_view()),
    path("api/chat/group/join/respond", join_requests.JoinRespondView.as_view()),
    path("api/chat/group/change_nickname", members.ChangeNicknameView.as_view()),
    path("api/chat/group/change_member_role", members.ChangeMemberRoleView.as_view()),
    path("api/chat/group/search", rooms.SearchView.as_view()),
    path("api/chat/group/members", members.MembersView.as_view()),
    # People and safety (API.md §9), and the caller's settings (§7.3)
    path("api/me", people.MeView.as_view()),
    path("api/me/settings", people.SettingsView.as_view()),
    path("api/me/password", people.MePasswordView.as_view()),
    path("api/users/search", people.UserSearchView.as_view()),
    path("api/users/block", people.BlockView.as_view()),
    path("api/users/blocked", people.BlockedView.as_view()),
    path("api/chat/group/settings", room_settings.GroupSettingsView.as_view()),
    path("api/chat/group/invite", room_settings.InviteCreateView.as_view()),
    path("api/chat/group/invite/revoke", room_settings.InviteRevokeView.as_view()),
    path("api/chat/group/invites", room_settings.InvitesView.as_view()),
]
