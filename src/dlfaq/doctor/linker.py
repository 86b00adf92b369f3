"""The dynamic linker's view of a filesystem tree: ``ld.so.conf``, ``ldconfig -p``, library folders.

How glibc finds ``libcudnn.so.8`` when a program (or ``dlopen``) asks for it,
in order (``ld.so(8)``): the ``DT_RPATH``/``DT_RUNPATH`` of the requesting
object, the folders in ``LD_LIBRARY_PATH``, then the cache ``/etc/ld.so.cache``
that ``ldconfig`` builds from the folders named on its command line, in
``/etc/ld.so.conf`` (and the files it includes) and the trusted folders
(``/lib``, ``/usr/lib`` and their multiarch/64-bit variants). When several
folders hold the same SONAME, the cache lists them in the order ``ldconfig``
processed the folders and the first one wins.

While it scans a folder, ``ldconfig`` also makes the file named by each
library's SONAME a symbolic link to the newest file that carries that SONAME;
when that name is a regular file it leaves it alone and warns
"is not a symbolic link" — the seed page's cuDNN case.

Everything here takes a ``root`` (``/`` for this machine) and reads only.
:func:`simulate_ldconfig` computes what ``ldconfig -r ROOT`` would produce,
so a tree can be examined without running it (it writes nothing).
"""

from __future__ import annotations

import glob
import os
import re
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from dlfaq.doctor.elf import is_elf, read_soname, soname_from_filename, version_key

#: Library families the doctor looks at (file names up to ``.so``).
CUDA_FAMILY = re.compile(
    r"^lib(cuda|cudart|cudnn\w*|cublas\w*|cufft\w*|curand|cusolver\w*|cusparse\w*|nccl|nvrtc\w*"
    r"|nvJitLink|nvjitlink|cupti|nvToolsExt|nvidia-ml|cufile\w*|nvvm)\.so(\.\d+)*$"
)
_LDCONFIG_LINE = re.compile(r"^\s+(\S+)\s+\(([^)]*)\)\s+=>\s+(\S.*?)\s*$")
_LIB_FILE = re.compile(r"^lib.+\.so(\.\d+)*$")


def is_cuda_library(name: str) -> bool:
    return bool(CUDA_FAMILY.match(name))


def family(name: str) -> str:
    """``libcudnn_ops.so.9.1.0`` -> ``libcudnn_ops``: the library, whatever its version."""
    return name.split(".so", 1)[0]


def trusted_dirs() -> list[str]:
    """glibc's built-in folders, scanned after those of ``ld.so.conf``."""
    arch = sysconfig.get_config_var("MULTIARCH") or ""
    out = [f"/lib/{arch}", f"/usr/lib/{arch}"] if arch else []
    return out + ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]


def host_flags() -> str:
    """The architecture tag ``ldconfig -p`` prints for this machine's libraries."""
    machine = os.uname().machine
    return {"x86_64": "libc6,x86-64", "aarch64": "libc6,AArch64"}.get(machine, "libc6")


# --------------------------------------------------------------------------- paths inside a root


def in_root(root: Path, path: str) -> Path:
    """The host path of ``path`` (absolute inside the tree) under ``root``."""
    rel = PurePosixPath(path)
    if rel.is_absolute():
        rel = rel.relative_to("/")
    return root / rel


def resolve_in_root(root: Path, path: str, max_hops: int = 40) -> str | None:
    """Resolve symlinks of an absolute in-tree path as if ``root`` were ``/``.

    Returns the resolved in-tree path, or None when a link dangles or loops.
    An absolute link target means the tree's ``/``, not the host's.
    """
    parts = list(PurePosixPath(path).parts[1:])
    done: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        host = root.joinpath(*done, part)
        if host.is_symlink():
            hops += 1
            if hops > max_hops:
                return None
            target = os.readlink(host)
            tparts = list(PurePosixPath(target).parts)
            if target.startswith("/"):
                done = []
                tparts = tparts[1:]
            parts = tparts + parts
            continue
        if not host.exists():
            return None
        done.append(part)
    return "/" + "/".join(done)


# --------------------------------------------------------------------------- ldconfig -p


@dataclass(frozen=True)
class CacheEntry:
    """One line of ``ldconfig -p``: a SONAME (or link name) and the path the loader gets."""

    soname: str
    flags: str
    path: str


def parse_ldconfig_p(text: str) -> list[CacheEntry]:
    """Parse ``ldconfig -p`` output; lines that are not entries (header, trailer) are skipped."""
    out = []
    for line in text.splitlines():
        m = _LDCONFIG_LINE.match(line)
        if m:
            out.append(CacheEntry(m.group(1), m.group(2), m.group(3)))
    return out


def format_ldconfig_p(entries: Iterable[CacheEntry], cache: str = "/etc/ld.so.cache") -> str:
    entries = list(entries)
    lines = [f"{len(entries)} libs found in cache `{cache}'"]
    lines += [f"\t{e.soname} ({e.flags}) => {e.path}" for e in entries]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- ld.so.conf


def read_conf_dirs(root: Path, conf: str = "/etc/ld.so.conf") -> list[tuple[str, str]]:
    """Folders named by ``ld.so.conf`` and its ``include`` files, in order, with the file naming each."""
    out: list[tuple[str, str]] = []
    seen_files: set[str] = set()

    def visit(conf_path: str) -> None:
        if conf_path in seen_files:
            return
        seen_files.add(conf_path)
        try:
            text = in_root(root, conf_path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("include"):
                pattern = line.split(None, 1)[1] if " " in line or "\t" in line else ""
                for pat in pattern.split():
                    if not pat.startswith("/"):
                        pat = str(PurePosixPath(conf_path).parent / pat)
                    hits = sorted(glob.glob(str(in_root(root, pat))))
                    for hit in hits:
                        visit("/" + str(Path(hit).relative_to(root)).lstrip("/") if str(root) != "/" else hit)
            elif line.startswith("hwcap"):
                continue
            else:
                for d in line.replace(",", " ").split():
                    out.append((d.rstrip("/") or "/", conf_path))

    visit(conf)
    return out


# --------------------------------------------------------------------------- scanning a folder


@dataclass
class LibFile:
    """A file in a library folder, seen from inside the tree."""

    dir: str
    name: str
    is_link: bool
    target: str | None  # readlink text when a link
    resolved: str | None  # in-tree path after following links; None when dangling
    soname: str | None  # from the ELF header (None: unreadable / not ELF)

    @property
    def path(self) -> str:
        return f"{self.dir.rstrip('/')}/{self.name}"


def scan_dir(root: Path, d: str, only: re.Pattern[str] | None = None) -> list[LibFile]:
    """Library files (``lib*.so*``) of in-tree folder ``d``, sorted by name."""
    host = in_root(root, d)
    try:
        names = sorted(os.listdir(host))
    except OSError:
        return []
    out = []
    for name in names:
        if not _LIB_FILE.match(name) or (only is not None and not only.match(name)):
            continue
        p = host / name
        link = p.is_symlink()
        if not link and not p.is_file():
            continue
        resolved = resolve_in_root(root, f"{d.rstrip('/')}/{name}")
        soname = read_soname(in_root(root, resolved)) if resolved else None
        out.append(
            LibFile(d, name, link, os.readlink(p) if link else None, resolved, soname)
        )
    return out


@dataclass
class LdconfigResult:
    entries: list[CacheEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (link path, target name) it would make


def simulate_ldconfig(root: Path, extra_dirs: Iterable[str] = (), *, make_links: bool = True) -> LdconfigResult:
    """What ``ldconfig -r ROOT [extra_dirs]`` would do, computed without writing anything.

    Order of folders: the command line's, then ``ld.so.conf``'s, then the
    trusted ones (each once). Per folder, for every SONAME carried by a file
    whose name differs from it, the newest such file (by version suffix) is
    the link target; the SONAME name becomes a link to it unless it is a
    regular file (then the warning). Cache entries are the SONAME names plus
    other links (such as ``libX.so``) that resolve to a library.
    ``make_links`` reports the links ``ldconfig`` would create (``-X`` turns it off).
    """
    root = Path(root)
    res = LdconfigResult()
    flags = host_flags()
    seen_real_dirs: set[str] = set()
    for d in _folder_order(root, extra_dirs):
        real_dir = resolve_in_root(root, d) or d
        if real_dir in seen_real_dirs:  # two names (links) for one folder: scanned once
            continue
        seen_real_dirs.add(real_dir)
        _scan_folder(res, root, d, flags, make_links)
    return res


def _folder_order(root: Path, extra_dirs: Iterable[str]) -> list[str]:
    """The folders ``ldconfig`` scans, in its order: command line, ``ld.so.conf``, trusted; existing ones, once."""
    order: list[str] = []
    for d in [*extra_dirs, *(d for d, _ in read_conf_dirs(root)), *trusted_dirs()]:
        d = d.rstrip("/") or "/"
        real = resolve_in_root(root, d)
        if real is None or not in_root(root, real).is_dir() or d in order:
            continue
        order.append(d)
    return order


def _scan_folder(res: LdconfigResult, root: Path, d: str, flags: str, make_links: bool) -> None:
    """One folder's links, warnings and cache entries, added to ``res``."""
    files = scan_dir(root, d)
    carriers = _carriers(root, files)
    sonames = _folder_sonames(files, carriers)
    by_name = {f.name: f for f in files}
    for so in sonames:
        _enter_soname(res, d, so, by_name.get(so), carriers.get(so, []), flags, make_links)
    _enter_other_links(res, d, files, sonames, flags, make_links)


def _carriers(root: Path, files: list[LibFile]) -> dict[str, list[LibFile]]:
    """Per SONAME, the regular ELF files of a folder that carry it under another name (link targets)."""
    carriers: dict[str, list[LibFile]] = {}
    for f in files:
        if f.resolved is None or f.soname is None or not is_elf(in_root(root, f.resolved)):
            continue
        if f.name != f.soname and not f.is_link:
            carriers.setdefault(f.soname, []).append(f)
    return carriers


def _folder_sonames(files: list[LibFile], carriers: dict[str, list[LibFile]]) -> list[str]:
    """The SONAMEs a folder provides, in file-name order: a file named by its SONAME, or one a file carries."""
    sonames: list[str] = []
    for f in files:
        if f.soname and f.soname not in sonames and (f.name == f.soname or f.soname in carriers):
            sonames.append(f.soname)
    return sonames


def _enter_soname(
    res: LdconfigResult, d: str, so: str, cur: LibFile | None, carriers: list[LibFile], flags: str, make_links: bool
) -> None:
    """The link (or warning) ``ldconfig`` makes for one SONAME, and its cache entry."""
    best = max(carriers, key=lambda f: version_key(f.name), default=None)
    if cur is not None and not cur.is_link:
        if best is not None:
            res.warnings.append(f"{d}/{so} is not a symbolic link")
    elif best is not None and (cur is None or cur.resolved != best.resolved):
        if make_links:
            res.links.append((f"{d}/{so}", best.name))
    elif cur is None:
        return
    res.entries.append(CacheEntry(so, flags, f"{d}/{so}"))


def _enter_other_links(
    res: LdconfigResult, d: str, files: list[LibFile], sonames: list[str], flags: str, make_links: bool
) -> None:
    """Links that are not SONAMEs, entered under their own name (``libX.so`` -> ``libX.so.8``).

    glibc does so only when the name is a prefix of the SONAME and the link
    resolves, now or once the links ``ldconfig`` is making exist.
    """
    for f in files:
        if not (f.is_link and f.name not in sonames and f.soname and f.name.endswith(".so")
                and f.soname.startswith(f.name)):
            continue
        target_ok = f.resolved is not None or (
            make_links and any(link == f"{d}/{f.target}" for link, _ in res.links)
        )
        if target_ok:
            res.entries.append(CacheEntry(f.name, flags, f"{d}/{f.name}"))


def implied_soname(f: LibFile) -> str | None:
    """The SONAME of a library file, from its ELF header or, failing that, its name."""
    return f.soname or soname_from_filename(f.name)
