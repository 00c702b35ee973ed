"""Paths of the meta service (API.md §2), exactly as the contract spells them."""

from django.urls import path

from meta import views, views_people, views_settings

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
    path("api/chat/group/members", views.MembersView.as_view()),
    # People and safety (API.md §9), and the caller's settings (§7.3)
    path("api/me", views_people.MeView.as_view()),
    path("api/me/settings", views_people.SettingsView.as_view()),
    path("api/me/password", views_people.MePasswordView.as_view()),
    path("api/users/search", views_people.UserSearchView.as_view()),
    path("api/users/block", views_people.BlockView.as_view()),
    path("api/users/blocked", views_people.BlockedView.as_view()),
    path("api/chat/group/settings", views_settings.GroupSettingsView.as_view()),
    path("api/chat/group/invite", views_settings.InviteCreateView.as_view()),
    path("api/chat/group/invite/revoke", views_settings.InviteRevokeView.as_view()),
    path("api/chat/group/invites", views_settings.InvitesView.as_view()),
]
