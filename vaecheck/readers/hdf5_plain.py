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

A file is also not proven when it holds what HDF5 itself refuses on opening it: a superblock
that says the file is longer, a local heap's free list leaving the heap, group names out of
order or outside their B-tree keys, a datatype or fill value encoded otherwise than HDF5 writes
them, message flags h5py never sets, an attribute larger than its place. h5py then fails on the
file, and VC307 warns that it could not be scanned, as Keras would fail to load it.

The structures and their fields: the HDF5 File Format Specification, version 3.0 (The HDF
Group), sections II.A (superblock), III.A.1 (version 1 B-trees), III.B (group symbol table
nodes), III.C (symbol table entries), III.D (local heaps), IV.A.1.a (version 1 object headers)
and IV.A.2 (header messages: dataspace 0x0001, datatype 0x0003, fill value 0x0005, data layout
0x0008, attribute 0x000C, continuation 0x0010, symbol table 0x0011); what HDF5 checks on
reading them, from its library sources (H5HLcache.c for the free list, H5Gnode.c for the key
order).
"""

from __future__ import annotations

import math
import struct
from typing import BinaryIO

from vaecheck.readers.weights_file import MAX_DEPTH, MAX_OBJECTS, declares_far_more

SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_HEADER_BYTES = 1 << 20  # one header chunk; Keras's own attributes stay under 64 KiB
MAX_NAME_BYTES = 1 << 16

# Header messages that change nothing the scan looks at: NIL, fill values (old and new),
# filter pipeline (read only with chunked storage, which is not plain), attributes, comment,
# modification times, attribute info, reference count.
_IGNORED_MESSAGES = {0x0000, 0x0004, 0x0005, 0x000B, 0x000C, 0x000D, 0x000E, 0x0012, 0x0015, 0x0016}
_DATASPACE, _DATATYPE, _LAYOUT, _CONTINUATION, _SYMBOL_TABLE = 0x0001, 0x0003, 0x0008, 0x0010, 0x0011
_ATTRIBUTE, _FILL_VALUE = 0x000C, 0x0005
_SHARED = 0x02  # message flag: the message lives elsewhere in the file
_PLAIN_FLAGS = 0x01 | 0x04  # constant, and not to be shared: the flags h5py's own files carry
_NO_FREE_BLOCK = 1  # a local heap's free list ends here (HDF5's H5HL_FREE_NULL)
_FIXED_POINT_SIZES = {1, 2, 4, 8}
_FLOATING_POINT_SIZES = {2, 4, 8}


class NotPlain(Exception):
    """The file is not made only of the plain layout, or does not add up: walk it with h5py."""


def is_plain_and_clean(handle: BinaryIO, size: int) -> bool:
    """Whether the HDF5 file in `handle` (`size` bytes) is proven plain, with nothing to report.

    False means only "not proven": the caller scans the file with h5py.
    """
    try:
        _PlainFile(handle, size).walk()
    except (NotPlain, struct.error, OverflowError, ValueError, IndexError, OSError):
        return False
    return True


class _PlainFile:
    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle = handle
        self.size = size
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
        if self.offset(fields, self.offsets) != self.undefined:
            raise NotPlain("a free-space or superblock extension address")
        if self.base + self.offset(fields, 2 * self.offsets) > self.size:
            raise NotPlain("a file shorter than its superblock says")
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
        for entry_header, cache_type in self.group_entries(btree, names):
            if cache_type not in (0, 1):
                raise NotPlain("a symbol table entry that is a soft link")
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
        data = self.read(self.address(head, 8 + 2 * self.lengths), data_size)
        # The free list, as HDF5 checks it on opening the heap: each block inside the heap, its
        # link to the next never 0, and 1 for "no more".
        free, blocks = self.length(head, 8 + self.lengths), 0
        while free != _NO_FREE_BLOCK:
            blocks += 1
            if free + 2 * self.lengths > data_size or blocks > data_size:
                raise NotPlain("a local heap whose free list leaves the heap")
            following, size = self.length(data, free), self.length(data, free + self.lengths)
            if following == 0 or free + size > data_size:
                raise NotPlain("a local heap with a damaged free list")
            free = following
        return data

    def group_entries(self, root: int, names: bytes) -> list[tuple[int, int]]:
        """(object header, cache type) of every entry under a group's B-tree, in name order.

        HDF5 finds a name by comparing it with the B-tree's keys and a node's sorted entries, so
        names out of order or outside their keys are names h5py cannot open: not plain.
        """
        entries: list[tuple[bytes, int, int]] = []
        self._btree_node(root, None, names, None, None, entries)
        for (earlier, _, _), (later, _, _) in zip(entries, entries[1:]):
            if not earlier < later:
                raise NotPlain("a group whose names are out of order")
        return [(header, cache_type) for _, header, cache_type in entries]

    def _btree_node(
        self,
        address: int,
        expected_level: int | None,
        names: bytes,
        low: bytes | None,
        high: bytes | None,
        entries: list[tuple[bytes, int, int]],
    ) -> None:
        """The entries under one group B-tree node, each name in (low, high]."""
        if address in self.visited or len(self.visited) > MAX_OBJECTS:
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
        keys = [_name_bytes(names, self.length(body, i * step)) for i in range(used + 1)]
        if (low is not None and keys[0] != low) or (high is not None and keys[-1] != high):
            raise NotPlain("B-tree keys that disagree with their parent's")
        for i in range(used):
            child = self.address(body, i * step + self.lengths)
            if level:
                self._btree_node(child, level - 1, names, keys[i], keys[i + 1], entries)
                continue
            for header, cache_type, name_offset in self.symbol_node(child):
                name = _name_bytes(names, name_offset)
                if not keys[i] < name <= keys[i + 1]:
                    raise NotPlain("a name outside the B-tree keys that lead to it")
                entries.append((name, header, cache_type))
            if len(entries) > MAX_OBJECTS:
                raise NotPlain("more objects than the scan visits")

    def symbol_node(self, address: int) -> list[tuple[int, int, int]]:
        if address in self.visited:
            raise NotPlain("a symbol table node reached twice")
        self.visited.add(address)
        size = self._entry_size()
        head = self.read(address, 8)
        if head[:4] != b"SNOD" or head[4] != 1:
            raise NotPlain("not a version 1 symbol table node")
        if address + 8 + 2 * self.leaf_k * size > self.size:  # HDF5 reads the whole node
            raise NotPlain("a symbol table node running past the end of the file")
        count = struct.unpack_from("<H", head, 6)[0]
        if count > 2 * self.leaf_k:
            raise NotPlain("a symbol table node with more entries than its K allows")
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
                if flags & ~_PLAIN_FLAGS:
                    raise NotPlain("header message flags h5py does not write")
                if kind == _ATTRIBUTE:
                    _check_attribute(data)
                elif kind == _FILL_VALUE:
                    _check_fill_value(data)
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
        if declares_far_more(declared, stored):
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


# IEEE floats by size: exponent location, exponent size, mantissa size, exponent bias.
_IEEE = {2: (10, 5, 10, 15), 4: (23, 8, 23, 127), 8: (52, 11, 52, 1023)}


def _item_size(datatype: bytes) -> int:
    """The bytes of one value, for the integer and IEEE float types h5py maps one to one, in
    exactly the version 1 encoding HDF5 gives them (any other is not plain)."""
    version, type_class = datatype[0] >> 4, datatype[0] & 0x0F
    bits, size = datatype[1:4], struct.unpack_from("<I", datatype, 4)[0]
    if version == 1 and type_class == 0 and size in _FIXED_POINT_SIZES:
        # Byte order (bit 0) and sign (bit 3) only; no padding bits, offset 0, full precision.
        if bits[0] & ~0x09 == 0 and bits[1:] == b"\x00\x00":
            if datatype[8:12] == struct.pack("<HH", 0, 8 * size):
                return size
    if version == 1 and type_class == 1 and size in _FLOATING_POINT_SIZES:
        # Byte order (bit 0), the implied mantissa bit (0x20), the sign as the top bit.
        exponent_at, exponent_size, mantissa_size, bias = _IEEE[size]
        fields = struct.pack(
            "<HHBBBBI", 0, 8 * size, exponent_at, exponent_size, 0, mantissa_size, bias
        )
        if bits[0] & ~0x01 == 0x20 and bits[1:] == bytes((8 * size - 1, 0)):
            if datatype[8:20] == fields:
                return size
    raise NotPlain("a datatype other than a plain integer or IEEE float")


def _check_attribute(data: bytes) -> None:
    """A version 1 attribute message whose name, datatype and dataspace fit in it."""
    if len(data) < 8 or data[0] != 1:
        raise NotPlain("an attribute message other than version 1")
    name, datatype, dataspace = struct.unpack_from("<HHH", data, 2)
    if 8 + _padded(name) + _padded(datatype) + _padded(dataspace) > len(data):
        raise NotPlain("an attribute message larger than its place in the header")
    if name == 0 or data[8 + name - 1] != 0:
        raise NotPlain("an attribute name without its terminating zero")


def _check_fill_value(data: bytes) -> None:
    """A version 2 fill value message whose value, when it has one, fits in it."""
    if len(data) < 4 or data[0] != 2:
        raise NotPlain("a fill value message other than version 2")
    if data[3] and (len(data) < 8 or 8 + struct.unpack_from("<I", data, 4)[0] > len(data)):
        raise NotPlain("a fill value larger than its message")


def _padded(size: int) -> int:
    return (size + 7) // 8 * 8


def _name_bytes(heap: bytes, offset: int) -> bytes:
    """The zero-terminated name at `offset` of a local heap's data, as HDF5 compares it."""
    end = heap.find(b"\x00", offset)
    if offset >= len(heap) or end < 0 or end - offset > MAX_NAME_BYTES:
        raise NotPlain("a link name outside its heap")
    name = heap[offset:end]
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        raise NotPlain("a link name that is not UTF-8") from None
    return name
