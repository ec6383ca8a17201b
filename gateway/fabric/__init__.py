"""The Fabric Gateway client: signed proposals to peers' ``gateway.Gateway`` service, one identity per organization."""
