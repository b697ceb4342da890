"""Avro binary readers and writers compiled per schema: Python source generated once from a
fastavro-parsed schema, with every field's type decided at compile time.

fastavro walks the schema dict for every record (a type lookup per field, a union
resolution per optional field); here that walk happens once. The compiled code covers the
cases leadflow's records use (null, boolean, int, long, double, string, bytes, enum, record,
array, map, and unions of null with one other type). It is only a fast path: it gives up
(raises) on anything it is not sure of: a value of an unexpected Python type, a number out
of range, a negative block count, a varint over 64 bits, an unknown enum or union index,
truncated or invalid bytes. The caller then runs fastavro on the same input, so results,
bytes and errors stay exactly fastavro's (``tests/unit/codecs/test_compiled.py`` checks the
two agree, on valid records and on mutated ones).
"""

from __future__ import annotations

from collections.abc import Callable
from struct import Struct
from typing import Any

Reader = Callable[[bytes, int], tuple[dict[str, Any], int]]
Writer = Callable[[dict[str, Any]], bytes]

_DOUBLE = Struct("<d")
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
# zigzag varints of -64..63: one byte each
_SMALL = tuple(bytes((((v << 1) ^ (v >> 63)) & 0x7F,)) for v in range(-64, 64))


class Unsupported(Exception):
    """The schema uses something the compiler does not cover: use fastavro for it."""


class GiveUp(Exception):
    """This value or payload is not one the compiled code is sure about: use fastavro."""


def _long_bytes(v: int) -> bytes:
    """Zigzag varint of a long (fastavro's encoding); ints and longs share it."""
    if -64 <= v < 64:
        return _SMALL[v + 64]
    if not _LONG_MIN <= v <= _LONG_MAX:
        raise GiveUp
    n = ((v << 1) ^ (v >> 63)) & 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_long_slow(data: bytes, pos: int) -> tuple[int, int]:
    """A varint of 2..10 bytes (the first byte has its high bit set)."""
    b = data[pos]
    n = b & 0x7F
    shift = 7
    pos += 1
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift > 63:  # over 10 bytes: leave the overflow rules to fastavro
            raise GiveUp
    if n > 0xFFFFFFFFFFFFFFFF:  # over 64 bits: the same
        raise GiveUp
    return (n >> 1) ^ -(n & 1), pos


class _Gen:
    """Generates one module's source: a function per record type, primitives inlined."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.funcs: dict[str, str] = {}  # record full name -> function name
        self.named: dict[str, Any] = {}
        self.tmp = 0

    def const(self, value: Any) -> str:
        name = f"_c{len(self.consts)}"
        self.consts[name] = value
        return name

    def var(self) -> str:
        self.tmp += 1
        return f"v{self.tmp}"

    def resolve(self, schema: Any) -> Any:
        if isinstance(schema, str) and schema in self.named:
            return self.named[schema]
        if isinstance(schema, dict) and schema.get("type") in ("record", "enum", "fixed"):
            self.named.setdefault(schema["name"], schema)
        return schema


# -- readers --------------------------------------------------------------------------------


class _ReaderGen(_Gen):
    def record(self, schema: dict[str, Any]) -> str:
        name = schema["name"]
        if name in self.funcs:
            return self.funcs[name]
        fn = self.funcs[name] = f"_r{len(self.funcs)}"
        body: list[str] = []
        fields = []
        for f in schema["fields"]:
            v = self.var()
            self.value(f["type"], v, body, 1)
            fields.append(f"{f['name']!r}: {v}")
        self.lines.append(f"def {fn}(d, p):")
        self.lines.extend(body)
        self.lines.append(f"    return {{{', '.join(fields)}}}, p")
        return fn

    def long(self, target: str, out: list[str], ind: int) -> None:
        s = "    " * ind
        out.append(f"{s}{target} = d[p]")
        out.append(f"{s}if {target} < 0x80:")
        out.append(f"{s}    {target} = ({target} >> 1) ^ -({target} & 1); p += 1")
        out.append(f"{s}else:")
        out.append(f"{s}    {target}, p = _read_long_slow(d, p)")

    def value(self, schema: Any, target: str, out: list[str], ind: int) -> None:
        s = "    " * ind
        schema = self.resolve(schema)
        t = schema if isinstance(schema, str) else (
            "union" if isinstance(schema, list) else schema.get("type"))
        if t == "null":
            out.append(f"{s}{target} = None")
        elif t == "boolean":
            out.append(f"{s}{target} = d[p]; p += 1")
            out.append(f"{s}if {target} > 1: raise _GiveUp")
            out.append(f"{s}{target} = {target} == 1")
        elif t in ("int", "long"):
            self.long(target, out, ind)
        elif t == "double":
            out.append(f"{s}{target}, = _unpack_double(d, p); p += 8")
        elif t in ("string", "bytes"):
            n = self.var()
            self.long(n, out, ind)
            out.append(f"{s}if {n} < 0 or p + {n} > len(d): raise _GiveUp")
            conv = ".decode()" if t == "string" else ""
            out.append(f"{s}{target} = d[p:p + {n}]{conv}; p += {n}")
        elif t == "enum":
            syms = self.const(tuple(schema["symbols"]))
            self.long(target, out, ind)
            out.append(f"{s}if not 0 <= {target} < {len(schema['symbols'])}: raise _GiveUp")
            out.append(f"{s}{target} = {syms}[{target}]")
        elif t == "record":
            fn = self.record(schema)
            out.append(f"{s}{target}, p = {fn}(d, p)")
        elif t in ("array", "map"):
            n, item = self.var(), self.var()
            is_map = t == "map"
            out.append(f"{s}{target} = {{}}" if is_map else f"{s}{target} = []")
            self.long(n, out, ind)
            out.append(f"{s}while {n}:")
            out.append(f"{s}    if {n} < 0: raise _GiveUp")
            out.append(f"{s}    for _ in range({n}):")
            if is_map:
                key = self.var()
                self.value("string", key, out, ind + 2)
                self.value(schema["values"], item, out, ind + 2)
                out.append(f"{s}        {target}[{key}] = {item}")
            else:
                self.value(schema["items"], item, out, ind + 2)
                out.append(f"{s}        {target}.append({item})")
            self.long(n, out, ind + 1)
        elif t == "union":
            if len(schema) != 2 or schema[0] != "null":
                raise Unsupported(f"union {schema}")
            i = self.var()
            self.long(i, out, ind)
            out.append(f"{s}if {i} == 0:")
            out.append(f"{s}    {target} = None")
            out.append(f"{s}elif {i} == 1:")
            self.value(schema[1], target, out, ind + 1)
            out.append(f"{s}else:")
            out.append(f"{s}    raise _GiveUp")
        else:
            raise Unsupported(str(t))


def compile_reader(parsed: dict[str, Any]) -> Reader | None:
    """A reader of ``parsed`` (record) bodies: (data, offset) -> (record, end offset), or
    None when the schema uses something not covered. The reader raises on anything it is
    not sure of; the caller then decodes with fastavro."""
    gen = _ReaderGen()
    try:
        fn = gen.record(parsed)
    except Unsupported:
        return None
    ns: dict[str, Any] = {
        "_read_long_slow": _read_long_slow, "_GiveUp": GiveUp,
        "_unpack_double": _DOUBLE.unpack_from, **gen.consts,
    }
    exec("\n".join(gen.lines), ns)  # source generated above from a schema
    reader: Reader = ns[fn]
    return reader


# -- writers --------------------------------------------------------------------------------


class _WriterGen(_Gen):
    def record(self, schema: dict[str, Any]) -> str:
        name = schema["name"]
        if name in self.funcs:
            return self.funcs[name]
        fn = self.funcs[name] = f"_w{len(self.funcs)}"
        body: list[str] = []
        for f in schema["fields"]:
            v = self.var()
            body.append(f"    {v} = r[{f['name']!r}]")
            self.value(f["type"], v, body, 1)
        self.lines.append(f"def {fn}(r, a):")
        self.lines.extend(body or ["    pass"])
        return fn

    def value(self, schema: Any, v: str, out: list[str], ind: int) -> None:
        s = "    " * ind
        schema = self.resolve(schema)
        t = schema if isinstance(schema, str) else (
            "union" if isinstance(schema, list) else schema.get("type"))
        if t == "null":
            out.append(f"{s}if {v} is not None: raise _GiveUp")
        elif t == "boolean":
            out.append(f"{s}if type({v}) is not bool: raise _GiveUp")
            out.append(f"{s}a(b'\\x01' if {v} else b'\\x00')")
        elif t in ("int", "long"):
            lo, hi = (_INT_MIN, _INT_MAX) if t == "int" else (_LONG_MIN, _LONG_MAX)
            out.append(f"{s}if type({v}) is not int or not {lo} <= {v} <= {hi}: raise _GiveUp")
            out.append(f"{s}a(_long({v}))")
        elif t == "double":
            out.append(f"{s}if type({v}) is not float: raise _GiveUp")
            out.append(f"{s}a(_pack_double({v}))")
        elif t == "string":
            b = self.var()
            out.append(f"{s}if not isinstance({v}, str): raise _GiveUp")
            out.append(f"{s}{b} = {v}.encode(); a(_long(len({b}))); a({b})")
        elif t == "bytes":
            out.append(f"{s}if type({v}) is not bytes: raise _GiveUp")
            out.append(f"{s}a(_long(len({v}))); a({v})")
        elif t == "enum":
            index = self.const({sym: _long_bytes(i) for i, sym in enumerate(schema["symbols"])})
            out.append(f"{s}if not isinstance({v}, str): raise _GiveUp")
            out.append(f"{s}a({index}[{v}])")  # KeyError on an unknown symbol: give up
        elif t == "record":
            fn = self.record(schema)
            out.append(f"{s}if type({v}) is not dict: raise _GiveUp")
            out.append(f"{s}{fn}({v}, a)")
        elif t in ("array", "map"):
            item = self.var()
            is_map = t == "map"
            kind = "dict" if is_map else "list"
            out.append(f"{s}if type({v}) is not {kind}: raise _GiveUp")
            out.append(f"{s}if {v}:")
            out.append(f"{s}    a(_long(len({v})))")
            if is_map:
                key = self.var()
                out.append(f"{s}    for {key}, {item} in {v}.items():")
                self.value("string", key, out, ind + 2)
                self.value(schema["values"], item, out, ind + 2)
            else:
                out.append(f"{s}    for {item} in {v}:")
                self.value(schema["items"], item, out, ind + 2)
            out.append(f"{s}a(b'\\x00')")
        elif t == "union":
            if len(schema) != 2 or schema[0] != "null":
                raise Unsupported(f"union {schema}")
            out.append(f"{s}if {v} is None:")
            out.append(f"{s}    a(b'\\x00')")
            out.append(f"{s}else:")
            out.append(f"{s}    a(b'\\x02')")
            self.value(schema[1], v, out, ind + 1)
        else:
            raise Unsupported(str(t))


def compile_writer(parsed: dict[str, Any]) -> Writer | None:
    """A writer of ``parsed`` (record) bodies: record -> bytes, or None when the schema
    uses something not covered. The writer raises on any value it is not sure of; the
    caller then encodes with fastavro."""
    gen = _WriterGen()
    try:
        fn = gen.record(parsed)
    except Unsupported:
        return None
    gen.lines += [
        "def _write(r):",
        "    if type(r) is not dict: raise _GiveUp",
        "    out = []",
        f"    {fn}(r, out.append)",
        "    return b''.join(out)",
    ]
    ns: dict[str, Any] = {
        "_long": _long_bytes, "_GiveUp": GiveUp, "_pack_double": _DOUBLE.pack, **gen.consts,
    }
    exec("\n".join(gen.lines), ns)  # source generated above from a schema
    writer: Writer = ns["_write"]
    return writer
