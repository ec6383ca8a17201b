"""Substra orchestrator, distributed mode: domain, chaincode and gateway under one import root."""

__version__ = "0.1.0"
