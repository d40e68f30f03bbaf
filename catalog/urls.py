from django.urls import path

from catalog import views

urlpatterns = [
    path("", views.ProductListPage.as_view(), name="catalog-dashboard-products"),
    path("imports/", views.ImportPage.as_view(), name="catalog-dashboard-imports"),
    path("imports/<uuid:job_id>/", views.ImportDetailPage.as_view(), name="catalog-dashboard-import"),
]
