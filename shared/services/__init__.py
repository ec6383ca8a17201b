"""Domain services, one per asset, bundled per transaction.

``Services(tx)`` exposes each service as a cached property named after its contract
(``services.algo``, ``services.computetask`` …). A service reaches the others through the
bundle (``self.services.algo.get(...)``), so every service of one call shares one
transaction and one overlay. Tests build the bundle on a real SQLite world state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from orchestrator.shared.services.lazy import lazy
from orchestrator.shared.store.documents import DEFAULT_MAX_RESPONSE_BYTES, DocumentStore, PageRequest
from orchestrator.shared.store.transaction import Transaction

if TYPE_CHECKING:
    from orchestrator.shared.services.algo import AlgoService
    from orchestrator.shared.services.computeplan import ComputePlanService
    from orchestrator.shared.services.computetask import ComputeTaskService
    from orchestrator.shared.services.datamanager import DataManagerService
    from orchestrator.shared.services.datasample import DataSampleService
    from orchestrator.shared.services.dataset import DatasetService
    from orchestrator.shared.services.failurereport import FailureReportService
    from orchestrator.shared.services.info import InfoService
    from orchestrator.shared.services.model import ModelService
    from orchestrator.shared.services.organization import OrganizationService
    from orchestrator.shared.services.performance import PerformanceService


class Paged(Protocol):
    """A query message: every ``Query*Param`` has these two fields."""

    @property
    def page_token(self) -> str: ...

    @property
    def page_size(self) -> int: ...


class Services:
    """Every domain service of one transaction.

    ``max_response_bytes`` is the caller's response budget (the gateway's ``--max-response-bytes``,
    carried in the envelope): every page of a listing stays within it.
    """

    def __init__(self, tx: Transaction, *, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self.tx = tx
        self.docs = DocumentStore(tx)
        self.max_response_bytes = max_response_bytes

    def page_request(self, param: Paged) -> PageRequest:
        """The page a query asks for, within this call's response budget."""
        return PageRequest(param.page_token, param.page_size, self.max_response_bytes)

    @property
    def requester(self) -> str:
        """The caller's MSP ID (GEN-2)."""
        return self.tx.info.creator_msp

    @lazy
    def organization(self) -> OrganizationService:
        from orchestrator.shared.services.organization import OrganizationService

        return OrganizationService(self)

    @lazy
    def algo(self) -> AlgoService:
        from orchestrator.shared.services.algo import AlgoService

        return AlgoService(self)

    @lazy
    def datamanager(self) -> DataManagerService:
        from orchestrator.shared.services.datamanager import DataManagerService

        return DataManagerService(self)

    @lazy
    def datasample(self) -> DataSampleService:
        from orchestrator.shared.services.datasample import DataSampleService

        return DataSampleService(self)

    @lazy
    def dataset(self) -> DatasetService:
        from orchestrator.shared.services.dataset import DatasetService

        return DatasetService(self)

    @lazy
    def computeplan(self) -> ComputePlanService:
        from orchestrator.shared.services.computeplan import ComputePlanService

        return ComputePlanService(self)

    @lazy
    def computetask(self) -> ComputeTaskService:
        from orchestrator.shared.services.computetask import ComputeTaskService

        return ComputeTaskService(self)

    @lazy
    def model(self) -> ModelService:
        from orchestrator.shared.services.model import ModelService

        return ModelService(self)

    @lazy
    def performance(self) -> PerformanceService:
        from orchestrator.shared.services.performance import PerformanceService

        return PerformanceService(self)

    @lazy
    def failurereport(self) -> FailureReportService:
        from orchestrator.shared.services.failurereport import FailureReportService

        return FailureReportService(self)

    @lazy
    def info(self) -> InfoService:
        from orchestrator.shared.services.info import InfoService

        return InfoService(self)
