"""With mutual TLS: the ``mspid`` header must name the organization whose CA signed the client certificate."""

# Runs before the header checks, so a client cannot even learn channel membership as another
# organization. It checks only calls carrying exactly one ``mspid`` (the headers interceptor
# rejects the others) and answers PERMISSION_DENIED with upstream's ``OE0102: invalid MSPID: …``
# texts, before anything is invoked.

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import grpc.aio
from cryptography import x509

from orchestrator.gateway.interceptors import BehaviorInterceptor, StreamBehavior, UnaryBehavior, header_values
from orchestrator.gateway.tls import OrgCertificateAuthorities
from orchestrator.shared.errors import PermissionDeniedError


class MspidCertificateInterceptor(BehaviorInterceptor):
    """Refuse calls whose ``mspid`` is not the organization of the client certificate."""

    def __init__(self, org_cas: OrgCertificateAuthorities) -> None:
        super().__init__()
        self.org_cas = org_cas

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - one interceptor per server; bounded
    def _issued_by(self, mspid: str, pem: bytes) -> bool:
        try:
            leaf = x509.load_pem_x509_certificate(pem)
        except ValueError:
            return False
        return self.org_cas.issued_by(mspid, leaf)

    def check(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        """Verify the certificate of the call against its ``mspid``.

        Raises:
            PermissionDeniedError: no CA for ``mspid``, no client certificate, or not signed by that CA.
        """
        values = header_values(context, "mspid")
        if len(values) != 1 or not values[0]:
            return  # the headers interceptor answers this one
        mspid = values[0]
        if not self.org_cas.knows(mspid):
            raise PermissionDeniedError(f'invalid MSPID: cannot find MSPID "{mspid}" in allowed organizations')
        pems = list(context.auth_context().get("x509_pem_cert", ()))
        if not pems:
            raise PermissionDeniedError(f'invalid MSPID: no client certificate to prove MSPID "{mspid}"')
        if not self._issued_by(mspid, pems[0]):
            raise PermissionDeniedError(f'invalid MSPID: invalid issuer for MSPID "{mspid}"')

    def wrap_unary(self, behavior: UnaryBehavior, method: str) -> UnaryBehavior:
        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            self.check(context)
            return await behavior(request, context)

        return unary

    def wrap_stream(self, behavior: StreamBehavior, method: str) -> StreamBehavior:
        async def stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            self.check(context)
            async for message in behavior(request, context):
                yield message

        return stream
