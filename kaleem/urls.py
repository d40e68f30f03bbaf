from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from kaleem import views

api_v1 = [
    path("", include("merchants.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("conversations.api.urls")),
    path("", include("channels.api.urls")),
    path("", include("integrations.api.urls")),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("", include("django_prometheus.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("admin/", admin.site.urls),
    path("", include("channels.urls")),
    path("", include("integrations.urls")),  # /webhooks/platforms/<platform>/<key>
    path("", include("merchants.urls")),
    path("dashboard/catalog/", include("catalog.urls")),
    path("dashboard/", include("conversations.dashboard_urls")),
]

handler404 = "kaleem.handlers.not_found"
handler500 = "kaleem.handlers.server_error"

if settings.DEBUG:
    from django.views.static import serve

    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
