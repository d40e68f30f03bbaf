from django.urls import path

from catalog import views

urlpatterns = [
    path("", views.ProductListPage.as_view(), name="catalog-dashboard-products"),
    path("products/new/", views.ProductEditPage.as_view(), name="catalog-dashboard-product-new"),
    path("products/<uuid:product_id>/", views.ProductEditPage.as_view(), name="catalog-dashboard-product"),
    path("imports/", views.ImportPage.as_view(), name="catalog-dashboard-imports"),
    path("imports/<uuid:job_id>/", views.ImportDetailPage.as_view(), name="catalog-dashboard-import"),
]
