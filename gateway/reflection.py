"""Server reflection under both names clients ask for: ``grpc.reflection.v1`` and ``v1alpha``.

grpcio-reflection serves only v1alpha; tools that speak v1 first (grpcurl, buf curl, grpcui)
fall back to it, and some newer ones do not. The two protocols are the same messages under
another package name, so one servicer answers both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2
from grpc_reflection.v1alpha._async import ReflectionServicer

V1_SERVICE_NAME: Final = "grpc.reflection.v1.ServerReflection"
SERVICE_NAMES: Final = (V1_SERVICE_NAME, reflection.SERVICE_NAME)


def add_reflection(server: grpc.aio.Server, service_names: Sequence[str]) -> None:
    """Describe ``service_names`` (and reflection itself) to clients of either reflection version."""
    servicer = ReflectionServicer((*service_names, *SERVICE_NAMES))
    method = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(name, {"ServerReflectionInfo": method}) for name in SERVICE_NAMES]
    )


__all__ = ["SERVICE_NAMES", "V1_SERVICE_NAME", "add_reflection"]
