"""Generated bindings of the orchestrator gRPC API (``proto/``); regenerate with ``tools/generate_api.py``."""
