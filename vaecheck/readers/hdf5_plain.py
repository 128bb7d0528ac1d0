"""A weights file proven plain without h5py: every object of the layout h5py writes by default,
with none of the structures the VC307 scan looks for.

The safety scan (readers/weights_scan.py) runs on every check, and importing h5py costs more
than the rest of a small check. Keras and tf.keras write their weights with h5py's default
file format ("earliest"): a version 0 superblock, version 1 object headers, groups indexed by a
symbol table (a version 1 B-tree and a local heap), and datasets stored contiguously or
compactly. This module reads exactly that subset, from the file's bytes, and answers one
question: is the file made only of it, with no link other than the hard links of its tree and
no dataset that declares more than it stores? Then the scan has nothing to report.

Anything else (another superblock or header version, a soft link, link messages, external or
virtual or chunked storage, a shared message, a second hard link to an object, a size or an
address that does not add up, a name it cannot read) is not proven plain, and the scan walks
the file with h5py as before, so every hazard is still reported in h5py's words. The walk here
is bounded like that one: in objects, depth, and bytes read, which all stay inside the file.

The structures and their fields: the HDF5 File Format Specification, version 3.0 (The HDF
Group), sections II.A (superblock), III.A.1 (version 1 B-trees), III.B (group symbol table
nodes), III.C (symbol table entries), III.D (local heaps), IV.A.1.a (version 1 object headers)
and IV.A.2 (header messages: dataspace 0x0001, datatype 0x0003, data layout 0x0008,
continuation 0x0010, symbol table 0x0011).
"""

from __future__ import annotations

import math
import struct
from typing import BinaryIO

SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_OBJECTS = 200_000
MAX_DEPTH = 64
MAX_HEADER_BYTES = 1 << 20  # one header chunk; Keras's own attributes stay under 64 KiB
MAX_NAME_BYTES = 1 << 16

# Header messages that change nothing the scan looks at: NIL, fill values (old and new),
# filter pipeline (read only with chunked storage, which is not plain), attributes, comment,
# modification times, attribute info, reference count.
_IGNORED_MESSAGES = {0x0000, 0x0004, 0x0005, 0x000B, 0x000C, 0x000D, 0x000E, 0x0012, 0x0015, 0x0016}
_DATASPACE, _DATATYPE, _LAYOUT, _CONTINUATION, _SYMBOL_TABLE = 0x0001, 0x0003, 0x0008, 0x0010, 0x0011
_SHARED = 0x02  # message flag: the message lives elsewhere in the file
_FIXED_POINT_SIZES = {1, 2, 4, 8}
_FLOATING_POINT_SIZES = {2, 4, 8}


class NotPlain(Exception):
    """The file is not made only of the plain layout, or does not add up: walk it with h5py."""


def is_plain_and_clean(handle: BinaryIO, size: int, small_dataset_bytes: int, max_expansion: int) -> bool:
    """Whether the HDF5 file in `handle` (`size` bytes) is proven plain, with nothing to report.

    False means only "not proven": the caller scans the file with h5py.
    """
    try:
        _PlainFile(handle, size, small_dataset_bytes, max_expansion).walk()
    except (NotPlain, struct.error, OverflowError, ValueError, IndexError, OSError):
        return False
    return True


class _PlainFile:
    def __init__(self, handle: BinaryIO, size: int, small_dataset_bytes: int, max_expansion: int) -> None:
        self.handle = handle
        self.size = size
        self.small_dataset_bytes = small_dataset_bytes
        self.max_expansion = max_expansion
        self.visited: set[int] = set()

    # Bytes ------------------------------------------------------------------------------------
    def read(self, address: int, length: int) -> bytes:
        if address < 0 or length < 0 or address + length > self.size:
            raise NotPlain(f"{length} bytes at {address} are past the end of the file")
        self.handle.seek(address)
        data = self.handle.read(length)
        if len(data) != length:
            raise NotPlain("the file is shorter than it says")
        return data

    def offset(self, data: bytes, at: int) -> int:
        return int.from_bytes(data[at : at + self.offsets], "little")

    def length(self, data: bytes, at: int) -> int:
        return int.from_bytes(data[at : at + self.lengths], "little")

    def address(self, data: bytes, at: int) -> int:
        value = self.offset(data, at)
        if value == self.undefined:
            raise NotPlain("an undefined address where an object must be")
        return self.base + value

    # The superblock and the tree ----------------------------------------------------------------
    def walk(self) -> None:
        head = self.read(0, 24)
        if head[:8] != SIGNATURE or head[8] not in (0, 1):
            raise NotPlain("not a version 0 or 1 superblock at the start of the file")
        if head[9] != 0 or head[10] != 0 or head[12] != 0:
            raise NotPlain("a free-space, symbol table or shared header version other than 0")
        self.offsets, self.lengths = head[13], head[14]
        if self.offsets not in (2, 4, 8) or self.lengths not in (2, 4, 8):
            raise NotPlain("unusual sizes of offsets or lengths")
        self.undefined = (1 << (8 * self.offsets)) - 1
        self.leaf_k, self.internal_k = struct.unpack_from("<HH", head, 16)
        if self.leaf_k == 0 or self.internal_k == 0:
            raise NotPlain("a group B-tree K of 0")
        at = 24 if head[8] == 0 else 28
        fields = self.read(at, 4 * self.offsets + self._entry_size())
        self.base = self.offset(fields, 0)
        if self.offset(fields, 3 * self.offsets) != self.undefined:
            raise NotPlain("a driver information block")
        root = fields[4 * self.offsets :]
        kind, messages = self.object(self.address(root, self.offsets))
        if kind != "group":
            raise NotPlain("the root is not a group")
        self.group(messages, depth=0)

    def _entry_size(self) -> int:
        return 2 * self.offsets + 24

    def group(self, messages: dict[int, bytes], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise NotPlain("groups nested deeper than the scan goes")
        data = messages[_SYMBOL_TABLE]
        btree, heap = self.address(data, 0), self.address(data, self.offsets)
        names = self.local_heap(heap)
        for entry_header, cache_type, name_offset in self.group_entries(btree):
            if cache_type not in (0, 1):
                raise NotPlain("a symbol table entry that is a soft link")
            _name(names, name_offset)
            child_kind, child_messages = self.object(entry_header)
            if child_kind == "group":
                self.group(child_messages, depth + 1)
            elif child_kind == "dataset":
                self.dataset(child_messages)

    def local_heap(self, address: int) -> bytes:
        head = self.read(address, 8 + 2 * self.lengths + self.offsets)
        if head[:4] != b"HEAP" or head[4] != 0:
            raise NotPlain("not a version 0 local heap")
        data_size = self.length(head, 8)
        if data_size > MAX_NAME_BYTES * 64:
            raise NotPlain("a local heap larger than the names of a weights file need")
        return self.read(self.address(head, 8 + 2 * self.lengths), data_size)

    def group_entries(self, root: int) -> list[tuple[int, int, int]]:
        """(object header, cache type, name offset) of every entry under a group's B-tree."""
        entries: list[tuple[int, int, int]] = []
        pending = [(root, None)]
        nodes = 0
        while pending:
            address, expected_level = pending.pop()
            nodes += 1
            if nodes > MAX_OBJECTS or address in self.visited:
                raise NotPlain("a group B-tree that loops or never ends")
            self.visited.add(address)
            head = self.read(address, 8 + 2 * self.offsets)
            if head[:4] != b"TREE" or head[4] != 0:
                raise NotPlain("not a group node of a version 1 B-tree")
            level, used = head[5], struct.unpack_from("<H", head, 6)[0]
            if expected_level is not None and level != expected_level:
                raise NotPlain("a B-tree whose levels do not add up")
            if used > 2 * self.internal_k:  # every node of a group B-tree, leaf or not
                raise NotPlain("a B-tree node with more children than its K allows")
            step = self.lengths + self.offsets
            body = self.read(address + len(head), used * step + self.lengths)
            children = [self.address(body, i * step + self.lengths) for i in range(used)]
            if level:
                pending.extend((child, level - 1) for child in reversed(children))
            else:
                for child in children:
                    entries.extend(self.symbol_node(child))
            if len(entries) > MAX_OBJECTS:
                raise NotPlain("more objects than the scan visits")
        return entries

    def symbol_node(self, address: int) -> list[tuple[int, int, int]]:
        if address in self.visited:
            raise NotPlain("a symbol table node reached twice")
        self.visited.add(address)
        head = self.read(address, 8)
        if head[:4] != b"SNOD" or head[4] != 1:
            raise NotPlain("not a version 1 symbol table node")
        count = struct.unpack_from("<H", head, 6)[0]
        if count > 2 * self.leaf_k:
            raise NotPlain("a symbol table node with more entries than its K allows")
        size = self._entry_size()
        body = self.read(address + 8, count * size)
        found = []
        for i in range(count):
            entry = body[i * size : (i + 1) * size]
            cache_type = struct.unpack_from("<I", entry, 2 * self.offsets)[0]
            if cache_type == 2:
                raise NotPlain("a soft link")
            found.append((self.address(entry, self.offsets), cache_type, self.offset(entry, 0)))
        return found

    # Objects ------------------------------------------------------------------------------------
    def object(self, address: int) -> tuple[str, dict[int, bytes]]:
        """A version 1 object header's kind ("group", "dataset", "datatype") and its messages."""
        if address in self.visited:
            raise NotPlain("an object reached by two hard links")
        self.visited.add(address)
        if len(self.visited) > MAX_OBJECTS:
            raise NotPlain("more objects than the scan visits")
        prefix = self.read(address, 16)
        if prefix[0] != 1 or prefix[1] != 0:
            raise NotPlain("not a version 1 object header")
        count = struct.unpack_from("<H", prefix, 2)[0]
        messages: dict[int, bytes] = {}
        chunks = [(address + 16, struct.unpack_from("<I", prefix, 8)[0])]
        seen = 0
        while chunks:
            start, length = chunks.pop(0)
            if length > MAX_HEADER_BYTES:
                raise NotPlain("an object header larger than a weights file writes")
            block = self.read(start, length)
            at = 0
            while at + 8 <= length:
                kind, size, flags = struct.unpack_from("<HHB", block, at)
                data = block[at + 8 : at + 8 + size]
                if len(data) != size:
                    raise NotPlain("a header message past the end of its block")
                at += 8 + size
                seen += 1
                if seen > count:
                    raise NotPlain("more header messages than the header counts")
                if kind == _CONTINUATION:
                    chunks.append((self.address(data, 0), self.length(data, self.offsets)))
                elif kind in _IGNORED_MESSAGES:
                    continue
                elif kind in (_DATASPACE, _DATATYPE, _LAYOUT, _SYMBOL_TABLE):
                    if flags & _SHARED or kind in messages:
                        raise NotPlain("a shared or repeated header message")
                    messages[kind] = data
                else:
                    raise NotPlain(f"header message type {kind:#06x}")
            if at != length:
                raise NotPlain("a header block that does not end on a message")
        if seen != count:
            raise NotPlain("an object header whose message count does not add up")
        kinds = set(messages)
        if kinds == {_SYMBOL_TABLE}:
            return "group", messages
        if kinds == {_DATASPACE, _DATATYPE, _LAYOUT}:
            return "dataset", messages
        if kinds == {_DATATYPE}:
            return "datatype", messages
        raise NotPlain("an object that is neither a group, a dataset nor a named datatype")

    def dataset(self, messages: dict[int, bytes]) -> None:
        declared = math.prod(self.dataspace(messages[_DATASPACE])) * _item_size(messages[_DATATYPE])
        layout = messages[_LAYOUT]
        if layout[0] != 3:
            raise NotPlain("a data layout message other than version 3")
        if layout[1] == 1:  # contiguous: address, size
            if self.offset(layout, 2) == self.undefined:
                raise NotPlain("a dataset whose storage was never allocated")
            start, stored = self.address(layout, 2), self.length(layout, 2 + self.offsets)
            if stored != declared or start + stored > self.size:
                raise NotPlain("contiguous storage that does not hold the declared shape")
        elif layout[1] == 0:  # compact: size, then the values in the header
            stored = struct.unpack_from("<H", layout, 2)[0]
            if stored != declared or 4 + stored > len(layout):
                raise NotPlain("compact storage that does not hold the declared shape")
        else:
            raise NotPlain("chunked or virtual storage")
        if declared > self.small_dataset_bytes and declared > self.max_expansion * stored:
            raise NotPlain("a dataset declaring far more than it stores")

    def dataspace(self, data: bytes) -> tuple[int, ...]:
        version, rank, flags = data[0], data[1], data[2]
        if version == 1:
            if flags & ~0x1:
                raise NotPlain("a dataspace with a permutation")
            at = 8
        elif version == 2:
            if data[3] != 1 and not (data[3] == 0 and rank == 0):
                raise NotPlain("a null dataspace")
            at = 4
        else:
            raise NotPlain(f"dataspace version {version}")
        if rank > 32 or len(data) < at + rank * self.lengths * (2 if flags & 0x1 else 1):
            raise NotPlain("a dataspace whose dimensions do not fit")
        return tuple(self.length(data, at + i * self.lengths) for i in range(rank))


def _item_size(datatype: bytes) -> int:
    """The bytes of one value, for the integer and floating-point types h5py maps one to one."""
    type_class, size = datatype[0] & 0x0F, struct.unpack_from("<I", datatype, 4)[0]
    if type_class == 0 and size in _FIXED_POINT_SIZES:
        return size
    if type_class == 1 and size in _FLOATING_POINT_SIZES:
        return size
    raise NotPlain("a datatype other than a plain integer or float")


def _name(heap: bytes, offset: int) -> str:
    end = heap.find(b"\x00", offset)
    if offset >= len(heap) or end < 0 or end - offset > MAX_NAME_BYTES:
        raise NotPlain("a link name outside its heap")
    try:
        return heap[offset:end].decode("utf-8")
    except UnicodeDecodeError:
        raise NotPlain("a link name that is not UTF-8") from None
