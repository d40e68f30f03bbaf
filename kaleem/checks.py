"""System checks that keep the portable-ORM rule honest at start-up."""
