"""Webchat public API: the embeddable widget's backend (visitor tokens, identity, live stream)."""
