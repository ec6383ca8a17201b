"""The orchestrator domain: validation, permissions, services, state machine, store; no gRPC or Fabric here."""
