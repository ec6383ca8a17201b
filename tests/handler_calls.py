"""Readable contract calls for test clients: ``client.register_algo(msg)`` instead of a function lookup."""

from __future__ import annotations

from functools import partial
from typing import Any

from google.protobuf.message import Message

from orchestrator.shared.functions import BY_HANDLER, Function


class HandlerCalls:
    """Mixin: an attribute named after a domain handler calls ``self.call(function, request, **options)``."""

    def call(self, function: Function, request: Message | None = None, **options: Any) -> Any:
        raise NotImplementedError

    def __getattr__(self, handler: str) -> Any:
        function = BY_HANDLER.get(handler)
        if function is None:
            raise AttributeError(handler)
        return partial(self.call, function)
