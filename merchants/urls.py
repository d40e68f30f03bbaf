"""Dashboard pages of the merchants app (login, onboarding, settings)."""

urlpatterns: list = []
