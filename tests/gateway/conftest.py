"""Fixtures of the gateway tests: an in-process gateway on loopback with a fresh data directory."""

from tests.gateway_fixtures import channel, client, client2, gateway

__all__ = ["channel", "client", "client2", "gateway"]
