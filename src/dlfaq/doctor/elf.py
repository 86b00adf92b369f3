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
from pathlib import Path

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


def read_soname(path: str | os.PathLike[str]) -> str | None:  # noqa: C901 - ELF header walk: one branch per field check
    """The ``DT_SONAME`` of an ELF shared object, or None (not ELF, unreadable, no SONAME).

    Follows the program headers as the loader and ``ldconfig`` do: find
    ``PT_DYNAMIC``, read its ``DT_STRTAB``/``DT_SONAME`` entries, and turn the
    string table's virtual address into a file offset through the ``PT_LOAD``
    segment that contains it.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
            if len(head) < 52 or head[:4] != _MAGIC:
                return None
            is64 = head[4] == 2
            end = "<" if head[5] == 1 else ">"
            if is64:
                phoff, = struct.unpack_from(end + "Q", head, 32)
                phentsize, phnum = struct.unpack_from(end + "HH", head, 54)
                ph_fmt, dyn_fmt = end + "IIQQQQQQ", end + "qQ"
            else:
                phoff, = struct.unpack_from(end + "I", head, 28)
                phentsize, phnum = struct.unpack_from(end + "HH", head, 42)
                ph_fmt, dyn_fmt = end + "IIIIIIII", end + "iI"
            if phnum == 0 or phnum > 4096:
                return None
            fh.seek(phoff)
            table = fh.read(phentsize * phnum)
            loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
            dynamic: tuple[int, int] | None = None
            for i in range(phnum):
                raw = table[i * phentsize : (i + 1) * phentsize]
                if len(raw) < struct.calcsize(ph_fmt):
                    return None
                f = struct.unpack_from(ph_fmt, raw)
                if is64:
                    p_type, _flags, p_offset, p_vaddr, _pa, p_filesz = f[:6]
                else:
                    p_type, p_offset, p_vaddr, _pa, p_filesz = f[:5]
                if p_type == _PT_LOAD:
                    loads.append((p_vaddr, p_offset, p_filesz))
                elif p_type == _PT_DYNAMIC:
                    dynamic = (p_offset, p_filesz)
            if dynamic is None:
                return None
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
            if strtab is None or soname is None:
                return None
            for vaddr, offset, filesz in loads:
                if vaddr <= strtab < vaddr + filesz:
                    fh.seek(offset + (strtab - vaddr) + soname)
                    raw_name = fh.read(4096).split(b"\0", 1)[0]
                    return raw_name.decode("utf-8", "replace") or None
            return None
    except (OSError, struct.error):
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
