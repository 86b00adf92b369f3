"""Just enough ELF to read a shared library's SONAME (and to write tiny fake libraries).

The dynamic linker looks libraries up by their SONAME (the ``DT_SONAME`` entry of
the ``PT_DYNAMIC`` segment), not by their file name: ``libcudnn.so.7.0.5`` says
"I am ``libcudnn.so.7``", and ``ldconfig`` keeps a file or link of that name
next to it. Reading the SONAME is how the doctor knows which file name the
loader will ask for (ELF format: System V ABI, Tool Interface Standard 1.2).
"""

from __future__ import annotations

import os
import re
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_MAGIC = b"\x7fELF"
_PT_LOAD, _PT_DYNAMIC = 1, 2
_DT_NULL, _DT_STRTAB, _DT_STRSZ, _DT_SONAME = 0, 5, 10, 14
_LIB_NAME = re.compile(r"^(lib.+?\.so)((?:\.\d+)*)$")


def is_elf(path: str | os.PathLike[str]) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == _MAGIC
    except OSError:
        return False


@dataclass(frozen=True)
class _Layout:
    """Where an ELF file keeps its program headers, and how its records are packed."""

    is64: bool
    phoff: int  # e_phoff: file offset of the program header table
    phentsize: int
    phnum: int
    ph_fmt: str  # struct format of one program header
    dyn_fmt: str  # struct format of one dynamic entry (d_tag, d_val)


def _layout(head: bytes) -> _Layout | None:
    """Read the ELF header's class, byte order and program header table; None when not ELF."""
    if len(head) < 52 or head[:4] != _MAGIC:
        return None
    end = "<" if head[5] == 1 else ">"
    if head[4] == 2:  # ELFCLASS64
        phoff, = struct.unpack_from(end + "Q", head, 32)
        phentsize, phnum = struct.unpack_from(end + "HH", head, 54)
        lay = _Layout(True, phoff, phentsize, phnum, end + "IIQQQQQQ", end + "qQ")
    else:
        phoff, = struct.unpack_from(end + "I", head, 28)
        phentsize, phnum = struct.unpack_from(end + "HH", head, 42)
        lay = _Layout(False, phoff, phentsize, phnum, end + "IIIIIIII", end + "iI")
    return lay if 0 < lay.phnum <= 4096 else None


def _segments(fh: BinaryIO, lay: _Layout) -> tuple[list[tuple[int, int, int]], tuple[int, int]] | None:
    """The ``PT_LOAD`` segments as (vaddr, offset, filesz) and ``PT_DYNAMIC`` as (offset, filesz).

    None when the table is truncated or there is no dynamic segment.
    """
    fh.seek(lay.phoff)
    table = fh.read(lay.phentsize * lay.phnum)
    need = struct.calcsize(lay.ph_fmt)
    loads: list[tuple[int, int, int]] = []
    dynamic: tuple[int, int] | None = None
    for i in range(lay.phnum):
        raw = table[i * lay.phentsize : (i + 1) * lay.phentsize]
        if len(raw) < need:
            return None
        f = struct.unpack_from(lay.ph_fmt, raw)
        # Elf64_Phdr puts p_flags second; Elf32_Phdr puts it after p_memsz.
        p_type, p_offset, p_vaddr, p_filesz = (f[0], f[2], f[3], f[5]) if lay.is64 else (f[0], f[1], f[2], f[4])
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    return (loads, dynamic) if dynamic is not None else None


def _soname_entry(fh: BinaryIO, dynamic: tuple[int, int], dyn_fmt: str) -> tuple[int, int] | None:
    """``DT_STRTAB`` (a virtual address) and ``DT_SONAME`` (an offset into that table), up to ``DT_NULL``."""
    fh.seek(dynamic[0])
    dyn = fh.read(min(dynamic[1], 1 << 20))
    size = struct.calcsize(dyn_fmt)
    strtab = soname = None
    for off in range(0, len(dyn) - size + 1, size):
        tag, val = struct.unpack_from(dyn_fmt, dyn, off)
        if tag == _DT_NULL:
            break
        if tag == _DT_STRTAB:
            strtab = val
        elif tag == _DT_SONAME:
            soname = val
    return None if strtab is None or soname is None else (strtab, soname)


def _string_at(fh: BinaryIO, loads: list[tuple[int, int, int]], strtab: int, offset: int) -> str | None:
    """The NUL-terminated string at ``offset`` in the table at address ``strtab``, found through its ``PT_LOAD``."""
    for vaddr, file_off, filesz in loads:
        if vaddr <= strtab < vaddr + filesz:
            fh.seek(file_off + (strtab - vaddr) + offset)
            raw_name = fh.read(4096).split(b"\0", 1)[0]
            return raw_name.decode("utf-8", "replace") or None
    return None


def read_soname(path: str | os.PathLike[str]) -> str | None:
    """The ``DT_SONAME`` of an ELF shared object, or None (not ELF, unreadable, corrupt, no SONAME).

    Follows the program headers as the loader and ``ldconfig`` do: find
    ``PT_DYNAMIC``, read its ``DT_STRTAB``/``DT_SONAME`` entries, and turn the
    string table's virtual address into a file offset through the ``PT_LOAD``
    segment that contains it.
    """
    try:
        with open(path, "rb") as fh:
            lay = _layout(fh.read(64))
            if lay is None:
                return None
            seg = _segments(fh, lay)
            if seg is None:
                return None
            entry = _soname_entry(fh, seg[1], lay.dyn_fmt)
            return _string_at(fh, seg[0], *entry) if entry else None
    except (OSError, ValueError, struct.error):  # ValueError: an offset past what seek() accepts
        return None


def soname_from_filename(name: str) -> str | None:
    """The SONAME a library file name implies by convention: ``libX.so.7.0.5`` -> ``libX.so.7``.

    Used only when the file cannot be read as ELF (for example a dangling link).
    """
    m = _LIB_NAME.match(name)
    if not m:
        return None
    parts = m.group(2).split(".")[1:]
    return m.group(1) + ("." + parts[0] if parts else "")


def version_key(name: str) -> tuple[int, ...]:
    """Numeric version suffix of a library file name, for "which is newest" comparisons."""
    m = _LIB_NAME.match(name)
    if not m or not m.group(2):
        return ()
    return tuple(int(p) for p in m.group(2).split(".")[1:])


def _host_machine() -> int:
    # Fake libraries carry the host's e_machine so that a real ldconfig on this
    # machine files them under its own architecture, as it would a real library.
    try:
        with open(sys.executable, "rb") as fh:
            head = fh.read(20)
        if head[:4] == _MAGIC:
            return struct.unpack_from("<H" if head[5] == 1 else ">H", head, 18)[0]
    except OSError:
        pass
    return 62  # x86-64


def write_fake_library(path: str | os.PathLike[str], soname: str, payload: bytes = b"") -> Path:
    """Write a minimal 64-bit little-endian ELF shared object whose SONAME is ``soname``.

    It has one ``PT_LOAD`` and one ``PT_DYNAMIC`` segment and section headers,
    enough for ``ldconfig`` and ``readelf`` to treat it as a library; it has no
    code and cannot be ``dlopen``-ed. ``payload`` is appended so that two
    versions of a fake library differ in content.
    """
    name = soname.encode()
    dynstr = b"\0" + name + b"\0"
    shstr = b"\0.dynstr\0.dynamic\0.shstrtab\0"
    ehsize, phsize, shsize = 64, 56, 64
    dynstr_off = ehsize + 2 * phsize
    dyn_off = (dynstr_off + len(dynstr) + 7) & ~7
    dyn = struct.pack("<qQ", _DT_SONAME, 1) + struct.pack("<qQ", _DT_STRTAB, dynstr_off)
    dyn += struct.pack("<qQ", _DT_STRSZ, len(dynstr)) + struct.pack("<qQ", _DT_NULL, 0)
    shstr_off = dyn_off + len(dyn)
    payload_off = shstr_off + len(shstr)
    sh_off = (payload_off + len(payload) + 7) & ~7
    total = sh_off + 4 * shsize
    eh = _MAGIC + bytes([2, 1, 1, 0]) + bytes(8)
    eh += struct.pack("<HHIQQQIHHHHHH", 3, _host_machine(), 1, 0, ehsize, sh_off, 0, ehsize, phsize, 2, shsize, 4, 3)
    ph = struct.pack("<IIQQQQQQ", _PT_LOAD, 4, 0, 0, 0, total, total, 0x1000)
    ph += struct.pack("<IIQQQQQQ", _PT_DYNAMIC, 6, dyn_off, dyn_off, dyn_off, len(dyn), len(dyn), 8)
    sh = bytes(shsize)
    sh += struct.pack("<IIQQQQIIQQ", 1, 3, 2, dynstr_off, dynstr_off, len(dynstr), 0, 0, 1, 0)
    sh += struct.pack("<IIQQQQIIQQ", 9, 6, 3, dyn_off, dyn_off, len(dyn), 1, 0, 8, 16)
    sh += struct.pack("<IIQQQQIIQQ", 18, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0)
    blob = bytearray(total)
    blob[: len(eh)] = eh
    blob[ehsize : ehsize + len(ph)] = ph
    blob[dynstr_off : dynstr_off + len(dynstr)] = dynstr
    blob[dyn_off : dyn_off + len(dyn)] = dyn
    blob[shstr_off : shstr_off + len(shstr)] = shstr
    blob[payload_off : payload_off + len(payload)] = payload
    blob[sh_off:] = sh
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bytes(blob))
    return out
