"""Domain services, one per asset, bundled per transaction.

``Services(tx)`` exposes each service as a cached property named after its contract
(``services.algo``, ``services.computetask`` …). A service reaches the others through the
bundle (``self.services.algo.get(...)``), so every service of one call shares one
transaction and one overlay. Tests build the bundle on a real SQLite world state.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from orchestrator.shared.store.documents import DocumentStore
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


class Services:
    """Every domain service of one transaction."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.docs = DocumentStore(tx)

    @property
    def requester(self) -> str:
        """The caller's MSP ID (GEN-2)."""
        return self.tx.info.creator_msp

    @cached_property
    def organization(self) -> OrganizationService:
        from orchestrator.shared.services.organization import OrganizationService

        return OrganizationService(self)

    @cached_property
    def algo(self) -> AlgoService:
        from orchestrator.shared.services.algo import AlgoService

        return AlgoService(self)

    @cached_property
    def datamanager(self) -> DataManagerService:
        from orchestrator.shared.services.datamanager import DataManagerService

        return DataManagerService(self)

    @cached_property
    def datasample(self) -> DataSampleService:
        from orchestrator.shared.services.datasample import DataSampleService

        return DataSampleService(self)

    @cached_property
    def dataset(self) -> DatasetService:
        from orchestrator.shared.services.dataset import DatasetService

        return DatasetService(self)

    @cached_property
    def computeplan(self) -> ComputePlanService:
        from orchestrator.shared.services.computeplan import ComputePlanService

        return ComputePlanService(self)

    @cached_property
    def computetask(self) -> ComputeTaskService:
        from orchestrator.shared.services.computetask import ComputeTaskService

        return ComputeTaskService(self)

    @cached_property
    def model(self) -> ModelService:
        from orchestrator.shared.services.model import ModelService

        return ModelService(self)

    @cached_property
    def performance(self) -> PerformanceService:
        from orchestrator.shared.services.performance import PerformanceService

        return PerformanceService(self)

    @cached_property
    def failurereport(self) -> FailureReportService:
        from orchestrator.shared.services.failurereport import FailureReportService

        return FailureReportService(self)

    @cached_property
    def info(self) -> InfoService:
        from orchestrator.shared.services.info import InfoService

        return InfoService(self)
