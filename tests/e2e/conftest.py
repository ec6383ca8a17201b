"""Fixtures of the end-to-end scenarios: each runs against its own gateway, as a backend would."""

from tests.gateway_fixtures import channel, client, client2, gateway

__all__ = ["channel", "client", "client2", "gateway"]
