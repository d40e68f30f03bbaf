"""Dashboard pages of the merchants app (login, sign-up, onboarding, settings)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from merchants import (
    automation_views,
    channel_views,
    knowledge_views,
    llm_views,
    onboarding_views,
    orders_views,
    platform_views,
    views,
)

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True, next_page="dashboard-home"
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "invite/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/invite_accept.html",
            post_reset_login=True,
            post_reset_login_backend="django.contrib.auth.backends.ModelBackend",
            success_url=reverse_lazy("dashboard-home"),
        ),
        name="invite-accept",
    ),
    path("dashboard/", views.HomeView.as_view(), name="dashboard-home"),
    path("dashboard/no-store/", views.NoStoreView.as_view(), name="dashboard-no-store"),
    path("dashboard/switch/", views.SwitchMerchantView.as_view(), name="dashboard-switch-merchant"),
    path("dashboard/onboarding/", onboarding_views.OnboardingResumeView.as_view(), name="dashboard-onboarding"),
    path(
        "dashboard/onboarding/<slug:step>/",
        onboarding_views.OnboardingStepView.as_view(),
        name="dashboard-onboarding-step",
    ),
    path("dashboard/knowledge/", knowledge_views.KnowledgeView.as_view(), name="dashboard-knowledge"),
    path(
        "dashboard/knowledge/preview/",
        knowledge_views.KnowledgePreviewView.as_view(),
        name="dashboard-knowledge-preview",
    ),
    path("dashboard/knowledge/gaps/", knowledge_views.AnswerGapsView.as_view(), name="dashboard-knowledge-gaps"),
    path(
        "dashboard/knowledge/<slug:kind>/<str:pk>/",
        knowledge_views.KnowledgeEditView.as_view(),
        name="dashboard-knowledge-edit",
    ),
    path("dashboard/orders/", orders_views.OrdersView.as_view(), name="dashboard-orders"),
    path("dashboard/orders/<str:pk>/", orders_views.OrderDetailView.as_view(), name="dashboard-order"),
    path("dashboard/settings/profile/", views.StoreProfileView.as_view(), name="dashboard-settings-profile"),
    path("dashboard/settings/team/", views.TeamView.as_view(), name="dashboard-settings-team"),
    path(
        "dashboard/settings/channels/", channel_views.ChannelSettingsView.as_view(), name="dashboard-settings-channels"
    ),
    path(
        "dashboard/settings/automations/",
        automation_views.AutomationsView.as_view(),
        name="dashboard-settings-automations",
    ),
    path(
        "dashboard/settings/platforms/",
        platform_views.PlatformSettingsView.as_view(),
        name="dashboard-settings-platforms",
    ),
    path("dashboard/settings/ai/", llm_views.LlmSettingsView.as_view(), name="dashboard-settings-ai"),
    path("dashboard/settings/tokens/", views.ApiTokensView.as_view(), name="dashboard-settings-tokens"),
    path("dashboard/settings/audit/", views.AuditLogView.as_view(), name="dashboard-settings-audit"),
]
