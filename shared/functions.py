"""Every API method, its chaincode function name and whether it only reads.

The table is derived from the API descriptors, so adding an RPC to ``proto/`` needs no code
here beyond, for a read, listing it in :data:`READ_ONLY`. Function names are upstream's wire
strings (``orchestrator.algo:RegisterAlgo``): ``orchestrator.<contract>:<Method>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from orchestrator.api import (
    algo_pb2,
    computeplan_pb2,
    computetask_pb2,
    datamanager_pb2,
    datasample_pb2,
    dataset_pb2,
    event_pb2,
    failure_report_pb2,
    info_pb2,
    model_pb2,
    organization_pb2,
    performance_pb2,
)

SERVICES: Final[tuple[ServiceDescriptor, ...]] = tuple(
    service
    for module in (
        algo_pb2, computeplan_pb2, computetask_pb2, datamanager_pb2, datasample_pb2, dataset_pb2, event_pb2,
        failure_report_pb2, info_pb2, model_pb2, organization_pb2, performance_pb2,
    )
    for service in module.DESCRIPTOR.services_by_name.values()
)

#: RPC-1: methods that never write; evaluated on a peer, never ordered.
READ_ONLY: Final = frozenset({
    "GetAllOrganizations", "GetAlgo", "QueryAlgos", "QueryEvents", "GetComputeTaskOutputModels",
    "GetComputeTaskInputModels", "CanDisableModel", "GetModel", "QueryModels", "GetDataset", "GetDataSample",
    "QueryDataSamples", "GetDataManager", "QueryDataManagers", "QueryTasks", "GetTask", "GetPlan", "QueryPlans",
    "QueryPerformances", "QueryVersion", "GetFailureReport", "SubscribeToEvents",
})

#: Methods whose work is bounded by their request: a few documents read and written per item it
#: carries, no scan of stored assets and no cascade. The embedded gateway runs small ones on its
#: event loop instead of handing them to a ledger thread (the hand-off costs more than they do).
BOUNDED: Final = frozenset({
    "GetAlgo", "GetTask", "GetModel", "GetDataSample", "GetDataManager", "GetFailureReport", "QueryVersion",
    "RegisterOrganization", "RegisterAlgo", "RegisterDataManager", "RegisterDataSamples", "RegisterPlan",
    "RegisterTasks",
})

#: Methods the gateway serves from its event log rather than by a chaincode invocation.
GATEWAY_SERVED: Final = frozenset({
    "orchestrator.EventService.QueryEvents",
    "orchestrator.EventService.SubscribeToEvents",
})


@dataclass(frozen=True)
class Function:
    """One API method as the gateway and the contract see it."""

    method: MethodDescriptor
    name: str  # chaincode function name, e.g. orchestrator.algo:RegisterAlgo
    contract: str  # e.g. algo
    handler: str  # Python method of the domain service, e.g. register_algo
    read_only: bool
    bounded: bool  # in BOUNDED
    request: type[Message]
    response: type[Message]

    @property
    def grpc_path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def server_streaming(self) -> bool:
        return self.method.server_streaming


def _contract_name(service: ServiceDescriptor) -> str:
    name: str = service.name  # the protobuf stubs leave descriptor names untyped
    return name.removesuffix("Service").lower()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _build() -> dict[str, Function]:
    table: dict[str, Function] = {}
    for service in SERVICES:
        contract = _contract_name(service)
        for method in service.methods:
            function = Function(
                method=method,
                name=f"orchestrator.{contract}:{method.name}",
                contract=contract,
                handler=_snake(method.name),
                read_only=method.name in READ_ONLY,
                bounded=method.name in BOUNDED,
                request=message_factory.GetMessageClass(method.input_type),
                response=message_factory.GetMessageClass(method.output_type),
            )
            table[function.name] = function
    return table


#: Chaincode function name -> function.
BY_NAME: Final[dict[str, Function]] = _build()
#: Full gRPC method name (``orchestrator.AlgoService.RegisterAlgo``) -> function.
BY_METHOD: Final[dict[str, Function]] = {f.method.full_name: f for f in BY_NAME.values()}
#: Domain handler name (``register_algo``) -> function; handler names are unique across services.
BY_HANDLER: Final[dict[str, Function]] = {f.handler: f for f in BY_NAME.values()}
assert len(BY_HANDLER) == len(BY_NAME), "two API methods share a handler name"
#: Functions the chaincode contract answers.
CONTRACT_FUNCTIONS: Final[dict[str, Function]] = {
    name: f for name, f in BY_NAME.items() if f.method.full_name not in GATEWAY_SERVED
}
#: The chaincode's init function, called once by the init job.
INIT_FUNCTION: Final = "orchestrator.info:Init"
