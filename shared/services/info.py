"""Info: the version of the code answering the call (INFO-1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orchestrator
from orchestrator.api import info_pb2

if TYPE_CHECKING:
    from orchestrator.shared.services import Services


class InfoService:
    def __init__(self, services: Services) -> None:
        self.services = services

    def query_version(self, _: info_pb2.QueryVersionParam) -> info_pb2.QueryVersionResponse:
        """``chaincode`` is this build's version; the gateway fills ``orchestrator`` (INFO-1)."""
        return info_pb2.QueryVersionResponse(chaincode=orchestrator.__version__)
