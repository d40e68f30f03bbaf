from django.urls import path

from merchants.api import knowledge_views as views

urlpatterns = [
    path("knowledge/policies", views.PolicyListView.as_view(), name="knowledge-policies"),
    path("knowledge/policies/<uuid:policy_id>", views.PolicyDetailView.as_view(), name="knowledge-policy-detail"),
    path("knowledge/faqs", views.FaqListView.as_view(), name="knowledge-faqs"),
    path("knowledge/faqs/<uuid:faq_id>", views.FaqDetailView.as_view(), name="knowledge-faq-detail"),
    path("knowledge/documents", views.DocumentListView.as_view(), name="knowledge-documents"),
    path(
        "knowledge/documents/<uuid:document_id>", views.DocumentDetailView.as_view(), name="knowledge-document-detail"
    ),
]
