"""Flatten the orchestrator API descriptors into comparable lines."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor

import orchestrator.api

_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_FLOAT: "float",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_UINT64: "uint64",
    FieldDescriptor.TYPE_DOUBLE: "double",
}


def api_files() -> list[FileDescriptor]:
    """Every generated file descriptor of the package, sorted by file name."""
    modules = [
        importlib.import_module(f"orchestrator.api.{m.name}")
        for m in pkgutil.iter_modules(orchestrator.api.__path__)
        if m.name.endswith("_pb2")
    ]
    return sorted((m.DESCRIPTOR for m in modules), key=lambda f: f.name)


def _type_name(field: FieldDescriptor) -> str:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return field.message_type.full_name
    if field.type == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.full_name
    return _SCALARS[field.type]


def _label(field: FieldDescriptor) -> str:
    if field.containing_oneof is not None:
        return f"oneof {field.containing_oneof.name}"
    if field.label == FieldDescriptor.LABEL_REPEATED:
        return "repeated"
    return "singular"


def _messages(messages: list[Descriptor]) -> Iterator[Descriptor]:
    for message in messages:
        yield message
        yield from _messages(list(message.nested_types))


def contract_lines() -> list[str]:
    """One line per file, service, method, message, field, enum and enum value."""
    lines: list[str] = []
    for file in api_files():
        imports = ",".join(sorted(d.name for d in file.dependencies))
        lines.append(f"file {file.name} package={file.package} imports={imports}")
        for service in file.services_by_name.values():
            lines.append(f"service {service.full_name} in={file.name}")
            for method in service.methods:
                streams = f"client_stream={method.client_streaming} server_stream={method.server_streaming}"
                lines.append(
                    f"method {method.full_name} {method.input_type.full_name} -> {method.output_type.full_name} "
                    f"{streams} deprecated={method.GetOptions().deprecated}"
                )
        for message in _messages(list(file.message_types_by_name.values())):
            entry = message.GetOptions().map_entry
            lines.append(f"message {message.full_name} in={file.name} map_entry={entry}")
            for field in sorted(message.fields, key=lambda f: f.number):
                deprecated = field.GetOptions().deprecated
                lines.append(
                    f"field {message.full_name}.{field.name} {field.number} {_type_name(field)} {_label(field)}"
                    f" deprecated={deprecated}"
                )
        for enum in file.enum_types_by_name.values():
            lines.append(f"enum {enum.full_name} in={file.name}")
            for value in enum.values:
                lines.append(f"value {enum.full_name}.{value.name} {value.number}")
    return lines
