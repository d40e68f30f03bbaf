"""Test helpers shared by every app: factories of tenants and users, authenticated API clients,
and guards that turn 'service missing' into a failure in CI (KALEEM_REQUIRE_SERVICES=1)."""
