from django.urls import include, path

from merchants.api import views

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token", views.TokenObtainView.as_view(), name="auth-token"),
    path("auth/token/refresh", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me", views.MeView.as_view(), name="auth-me"),
    path("merchants/current", views.CurrentMerchantView.as_view(), name="merchant-current"),
    path("merchants/current/audit-log", views.AuditLogListView.as_view(), name="merchant-audit-log"),
    path("team/members", views.TeamMemberListView.as_view(), name="team-members"),
    path("team/members/<uuid:member_id>", views.TeamMemberDetailView.as_view(), name="team-member-detail"),
    path("tokens", views.ApiTokenListView.as_view(), name="api-tokens"),
    path("tokens/<uuid:token_id>", views.ApiTokenDetailView.as_view(), name="api-token-detail"),
    path("", include("merchants.api.knowledge_urls")),
]
