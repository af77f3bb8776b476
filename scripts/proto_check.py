#!/usr/bin/env python3
"""Checks on the contract in Protos/, from protoc's descriptor sets (Python protobuf).

  proto_check.py lint DESCRIPTORS
      naming and shape rules every file, message, enum and rpc follows.
  proto_check.py breaking OLD NEW
      what NEW changes of OLD that breaks a client built on OLD: a message, field, enum value or rpc
      gone without its number reserved, a field's number, type, label or name changed, an rpc's ids,
      types or kind changed.
  proto_check.py python-stubs DESCRIPTORS OUT
      imports the Python modules protoc generated into OUT and checks that each service class has a
      method for every rpc.
  proto_check.py java-stubs DESCRIPTORS CLASSES JAR
      lists with javap each service class compiled into CLASSES (against protobuf-java's JAR) and
      checks that it has an abstract method for every rpc, named in lowerCamelCase.

Each prints one line per problem and exits 1 if there is any.
"""
import importlib
import re
import subprocess
import sys

from google.protobuf import descriptor_pb2

PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
OPTION_FIELDS = {"service_id": 50001, "method_id": 50001, "access": 50003}
# Enums whose zero value means something on purpose.
ZERO_VALUE_EXEMPT = {
    "crm.wire.v1.ErrorCode": "gRPC's code numbers, where 0 is OK",
    "crm.wire.v1.Processing": "an absent field must read as the safe answer, maybe processed",
}


def load(path):
    files = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as handle:
        files.ParseFromString(handle.read())
    return [f for f in files.file if not f.name.startswith("google/")]


def upper_snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


def unknown_varints(options):
    """The extension fields of an options message, as protoc left them (unknown to this runtime)."""
    data = options.SerializeToString()
    fields, i = {}, 0

    def varint():
        nonlocal i
        value, shift = 0, 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    while i < len(data):
        tag = varint()
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            fields[number] = varint()
        elif wire == 1:
            i += 8
        elif wire == 2:
            length = varint()
            i += length
        elif wire == 5:
            i += 4
        else:
            raise ValueError("unsupported wire type")
    return fields


def walk_messages(prefix, messages):
    for message in messages:
        name = f"{prefix}.{message.name}"
        yield name, message
        yield from walk_messages(name, message.nested_type)


def walk_enums(prefix, file_or_message):
    for enum in file_or_message.enum_type:
        yield f"{prefix}.{enum.name}", enum
    for message in getattr(file_or_message, "nested_type", []):
        yield from walk_enums(f"{prefix}.{message.name}", message)


def lint(files):
    problems = []
    for f in files:
        expected = f.name.rsplit("/", 1)[0].replace("/", ".")
        if f.package != expected:
            problems.append(f"{f.name}: package {f.package} should be {expected}, its folder")
        if f.syntax != "proto3":
            problems.append(f"{f.name}: syntax must be proto3")
        for option in ("java_package", "csharp_namespace"):
            if not f.options.HasField(option):
                problems.append(f"{f.name}: option {option} is missing")
        if f.service:
            for option in ("java_multiple_files", "java_generic_services", "py_generic_services"):
                if not getattr(f.options, option):
                    problems.append(f"{f.name}: option {option} = true is needed for the service stubs of other languages")
        for name, message in walk_messages(f.package, f.message_type):
            if message.options.map_entry:
                continue
            if not PASCAL.match(message.name):
                problems.append(f"{name}: message names are PascalCase")
            for field in message.field:
                if not SNAKE.match(field.name):
                    problems.append(f"{name}.{field.name}: field names are lower_snake_case")
                if field.name.endswith("_at_ms") or field.name == "at_ms":
                    problems.append(f"{name}.{field.name}: an instant is a google.protobuf.Timestamp, not milliseconds")
        for name, enum in walk_enums(f.package, f):
            prefix = upper_snake(enum.name) + "_"
            if not PASCAL.match(enum.name):
                problems.append(f"{name}: enum names are PascalCase")
            if name not in ZERO_VALUE_EXEMPT and (not enum.value or enum.value[0].number != 0 or enum.value[0].name != prefix + "UNSPECIFIED"):
                problems.append(f"{name}: the first value is {prefix}UNSPECIFIED = 0")
            for value in enum.value:
                if not UPPER_SNAKE.match(value.name) or not value.name.startswith(prefix):
                    problems.append(f"{name}.{value.name}: values are UPPER_SNAKE_CASE prefixed {prefix}")
        for service in f.service:
            if not service.name.endswith("Service") or not PASCAL.match(service.name):
                problems.append(f"{f.package}.{service.name}: service names are PascalCase and end in Service")
            if OPTION_FIELDS["service_id"] not in unknown_varints(service.options):
                problems.append(f"{f.package}.{service.name}: option (crm.api.v1.service_id) is missing")
            for method in service.method:
                where = f"{f.package}.{service.name}.{method.name}"
                if not PASCAL.match(method.name):
                    problems.append(f"{where}: rpc names are PascalCase")
                options = unknown_varints(method.options)
                for option in ("method_id", "access"):
                    if OPTION_FIELDS[option] not in options:
                        problems.append(f"{where}: option (crm.api.v1.{option}) is missing")
                if not method.input_type.endswith("Request"):
                    problems.append(f"{where}: its request message ends in Request")
                if not method.server_streaming and not method.output_type.endswith("Response"):
                    problems.append(f"{where}: its response message ends in Response")
    return problems


def index(files):
    messages, enums, rpcs = {}, {}, {}
    for f in files:
        for name, message in walk_messages(f.package, f.message_type):
            messages[name] = message
        for name, enum in walk_enums(f.package, f):
            enums[name] = enum
        for service in f.service:
            service_id = unknown_varints(service.options).get(OPTION_FIELDS["service_id"])
            for method in service.method:
                method_id = unknown_varints(method.options).get(OPTION_FIELDS["method_id"])
                rpcs[(service_id, method_id)] = (f"{f.package}.{service.name}.{method.name}", method)
    return messages, enums, rpcs


def reserved(numbers_of, number):
    return any(r.start <= number < r.end for r in numbers_of.reserved_range)


def breaking(old_files, new_files):
    problems = []
    old_messages, old_enums, old_rpcs = index(old_files)
    new_messages, new_enums, new_rpcs = index(new_files)
    for name, old in old_messages.items():
        new = new_messages.get(name)
        if new is None:
            problems.append(f"{name}: message removed")
            continue
        new_fields = {field.number: field for field in new.field}
        for field in old.field:
            changed = new_fields.get(field.number)
            if changed is None:
                if not reserved(new, field.number):
                    problems.append(f"{name}.{field.name} ({field.number}): removed without reserving its number")
                continue
            for attribute in ("name", "type", "type_name", "label"):
                if getattr(field, attribute) != getattr(changed, attribute):
                    problems.append(f"{name}.{field.name} ({field.number}): {attribute} changed from "
                                    f"{getattr(field, attribute)!r} to {getattr(changed, attribute)!r}")
            if field.HasField("oneof_index") != changed.HasField("oneof_index"):
                problems.append(f"{name}.{field.name} ({field.number}): moved into or out of a oneof")
    for name, old in old_enums.items():
        new = new_enums.get(name)
        if new is None:
            problems.append(f"{name}: enum removed")
            continue
        new_values = {value.number: value.name for value in new.value}
        for value in old.value:
            if value.number not in new_values and not reserved(new, value.number):
                problems.append(f"{name}.{value.name} ({value.number}): removed without reserving its number")
            elif value.number in new_values and new_values[value.number] != value.name:
                problems.append(f"{name}.{value.name} ({value.number}): renamed to {new_values[value.number]}")
    for ids, (name, old) in old_rpcs.items():
        if ids not in new_rpcs:
            problems.append(f"{name} ({ids[0]}/{ids[1]}): rpc removed")
            continue
        new_name, new = new_rpcs[ids]
        if new_name != name:
            problems.append(f"{name} ({ids[0]}/{ids[1]}): renamed to {new_name}")
        for attribute in ("input_type", "output_type", "server_streaming"):
            if getattr(old, attribute) != getattr(new, attribute):
                problems.append(f"{name}: {attribute} changed from {getattr(old, attribute)!r} to {getattr(new, attribute)!r}")
    return problems


def python_stubs(files, out):
    sys.path.insert(0, out)
    problems = []
    for f in files:
        if not f.service:
            continue
        module = importlib.import_module(f.name[: -len(".proto")].replace("/", ".") + "_pb2")
        for service in f.service:
            stub = getattr(module, service.name, None)
            if stub is None:
                problems.append(f"{f.package}.{service.name}: no Python service class")
                continue
            for method in service.method:
                if not callable(getattr(stub, method.name, None)):
                    problems.append(f"{f.package}.{service.name}.{method.name}: missing from the Python service class")
                    continue
            described = [m.name for m in stub.DESCRIPTOR.methods]
            if described != [m.name for m in service.method]:
                problems.append(f"{f.package}.{service.name}: the Python class describes {described}")
    return problems


def java_stubs(files, classes, jar):
    problems, methods = [], 0
    for f in files:
        for service in f.service:
            java_class = f"{f.options.java_package}.{service.name}"
            listing = subprocess.run(["javap", "-cp", f"{classes}:{jar}", java_class], capture_output=True, text=True)
            if listing.returncode != 0:
                problems.append(f"{java_class}: no such class ({listing.stderr.strip()})")
                continue
            for method in service.method:
                name = method.name[0].lower() + method.name[1:]
                if f" abstract void {name}(" not in listing.stdout:
                    problems.append(f"{java_class}.{name}: missing")
                methods += 1
    if not problems:
        print(f"Java: {methods} rpcs are methods of their service classes")
    return problems


def main(argv):
    if len(argv) == 3 and argv[1] == "lint":
        problems = lint(load(argv[2]))
    elif len(argv) == 4 and argv[1] == "breaking":
        problems = breaking(load(argv[2]), load(argv[3]))
    elif len(argv) == 4 and argv[1] == "python-stubs":
        problems = python_stubs(load(argv[2]), argv[3])
    elif len(argv) == 5 and argv[1] == "java-stubs":
        problems = java_stubs(load(argv[2]), argv[3], argv[4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
