from django.urls import include, path

from catalog.api import views

urlpatterns = [
    path("catalog/categories", views.CategoryListView.as_view(), name="catalog-categories"),
    path("catalog/categories/<uuid:category_id>", views.CategoryDetailView.as_view(), name="catalog-category-detail"),
    path("catalog/products", views.ProductListView.as_view(), name="catalog-products"),
    path("catalog/products/export", views.ExportView.as_view(), name="catalog-products-export"),
    path("catalog/products/<uuid:product_id>", views.ProductDetailView.as_view(), name="catalog-product-detail"),
    path(
        "catalog/products/<uuid:product_id>/archive", views.ProductArchiveView.as_view(), name="catalog-product-archive"
    ),
    path(
        "catalog/products/<uuid:product_id>/similar", views.ProductSimilarView.as_view(), name="catalog-product-similar"
    ),
    path(
        "catalog/products/<uuid:product_id>/images", views.ProductImageListView.as_view(), name="catalog-product-images"
    ),
    path(
        "catalog/products/<uuid:product_id>/images/<uuid:image_id>",
        views.ProductImageDetailView.as_view(),
        name="catalog-product-image-detail",
    ),
    path("catalog/search", views.SearchView.as_view(), name="catalog-search"),
    path("catalog/imports", views.ImportListView.as_view(), name="catalog-imports"),
    path("catalog/imports/<uuid:job_id>", views.ImportDetailView.as_view(), name="catalog-import-detail"),
    path("catalog/synonyms", views.SynonymListView.as_view(), name="catalog-synonyms"),
    path("catalog/synonyms/<uuid:synonym_id>", views.SynonymDetailView.as_view(), name="catalog-synonym-detail"),
    path("", include("catalog.api.commerce_urls")),  # carts and orders
]
