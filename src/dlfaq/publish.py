"""Where dlfaq may write, and how a finished folder replaces the previous one.

The output-folder rule
----------------------
dlfaq writes only inside folders it created itself or that carry its marker
file: ``.dlfaq-site`` in a site, ``.dlfaq-results`` in a results folder. So a
``--site`` that names a user's folder (non-empty, no marker), a file, a
symbolic link, the results folder itself, a folder that contains it, a folder
inside it other than the default ``OUT/site``, or the current folder is refused
by :func:`check_site_target` before anything runs, and nothing of the user's is
deleted or moved.

The swap
--------
A new version is written into a temporary sibling ``.NAME-tmp-PID-XXXX`` and
then takes the place of ``NAME`` in one step:

* **Where the kernel offers it, an atomic exchange** (Linux ``renameat2`` with
  ``RENAME_EXCHANGE``, 3.15+, on ext4/xfs/btrfs/tmpfs and most others; macOS
  ``renamex_np`` with ``RENAME_SWAP``). The two directory entries trade places
  in one system call, so at every instant ``NAME`` is a complete old or a
  complete new version; the old one then sits at the temporary name and is
  deleted.
* **Elsewhere, two renames with recovery**: ``NAME`` → ``.NAME-old-PID``, then
  the new version → ``NAME``. A crash between the two leaves ``NAME`` missing
  for that instant, but the complete old version is kept and the next run puts
  it back (:func:`recover`) before doing anything else.

Why not a symbolic link (``NAME`` → ``.NAME-v7``, swapped by ``os.replace`` of a
new link)? It is atomic everywhere on POSIX, but the user's path would no longer
be a folder: ``cp -r site elsewhere`` copies a dangling relative link,
``rm -r site`` leaves the real folder behind, some web servers refuse to follow
links, and Windows needs a privilege to make one. With the exchange, the path the
user gave (and the ``index.html`` that ``dlfaq report`` prints) is a plain folder
that opens from ``file://`` and copies like any other.

Leftovers of a run that was killed (``.NAME-tmp-PID-*`` and ``.NAME-old-PID``
whose process is gone, and the older ``.NAME-XXXXXXXX`` temp folders of
``tempfile.mkdtemp``) are removed, or put back, by the next :func:`publish`.
New folders get the permissions ``mkdir`` would give (``0o755 & ~umask``)
instead of ``mkdtemp``'s 0700.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

SITE_MARKER = ".dlfaq-site"
RESULTS_MARKER = ".dlfaq-results"
#: Entries a results folder written by an older dlfaq (without a marker) may hold.
_RESULTS_ENTRY = re.compile(r"^(q\d\d|site|calibration|calibration\.json|\.cache|\.site-.*|\.dlfaq-.*|\.calibration.*)$")

#: A site written by a dlfaq without markers held exactly these entries (it is adopted).
_OLD_SITE_ENTRY = re.compile(r"^(index\.html|style\.css|img|md|summary\.json|calibration\.html|q\d\d\.html)$")

INTERRUPTED = "interrupted; nothing half-written was kept"


class UnsafeOutput(ValueError):
    """A folder dlfaq must not write to; the message is one line for the user."""


# --------------------------------------------------------------------------- the rule


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_site_target(site: Path | str, results: Path | str | None = None) -> Path:
    """The absolute site path, after checking dlfaq may replace it (raises :class:`UnsafeOutput`)."""
    given = str(site)
    site = Path(os.path.abspath(site))
    if os.path.islink(site):
        raise UnsafeOutput(f"--site {given!r} is a symbolic link; give the folder itself")
    if site.exists() and not site.is_dir():
        raise UnsafeOutput(f"--site {given!r} is a file, not a folder; nothing was written")
    if site.parent == site:
        raise UnsafeOutput(f"--site {given!r} is the root of the file system")
    cwd = Path(os.path.abspath(os.getcwd()))
    if _is_within(cwd, site):
        raise UnsafeOutput(f"--site {given!r} is the current folder or contains it; give a new folder")
    if results is not None:
        res = Path(os.path.realpath(results))
        real = Path(os.path.realpath(site))
        if real == res:
            raise UnsafeOutput(f"--site {given!r} is the results folder; give another folder (default: OUT/site)")
        if _is_within(res, real):
            raise UnsafeOutput(f"--site {given!r} contains the results folder {str(results)!r}")
        if _is_within(real, res) and real != res / "site":
            raise UnsafeOutput(f"--site {given!r} is inside the results folder; only OUT/site is allowed there")
    if site.is_dir() and not (site / SITE_MARKER).is_file():
        try:
            names = {e.name for e in os.scandir(site)}
        except OSError as exc:
            raise UnsafeOutput(f"--site {given!r} cannot be read: {exc.strerror or exc}") from None
        old_site = {"index.html", "summary.json", "style.css"} <= names and all(map(_OLD_SITE_ENTRY.match, names))
        if names and not old_site:
            raise UnsafeOutput(f"--site {given!r} is a folder dlfaq did not write (no {SITE_MARKER} in it) "
                               "and it is not empty; nothing was changed; give a new or empty folder")
    return site


def ensure_results_dir(out: Path | str) -> Path:
    """Create (or adopt) a results folder and mark it; refuse a user's unrelated folder."""
    given = str(out)
    out = Path(out)
    if os.path.islink(out) and not out.is_dir():
        raise UnsafeOutput(f"results folder {given!r} is a dangling symbolic link")
    if out.exists() and not out.is_dir():
        raise UnsafeOutput(f"results path {given!r} is a file, not a folder")
    marker = out / RESULTS_MARKER
    if out.is_dir() and not marker.is_file():
        try:
            foreign = sorted(e.name for e in os.scandir(out) if not _RESULTS_ENTRY.match(e.name))
        except OSError as exc:
            raise UnsafeOutput(f"results folder {given!r} cannot be read: {exc.strerror or exc}") from None
        if foreign:
            raise UnsafeOutput(f"results folder {given!r} holds files dlfaq did not write ({foreign[0]!r}"
                               f"{' …' if len(foreign) > 1 else ''}); give a new or empty folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not marker.is_file():
            marker.write_text("written by dlfaq: evidence of its experiments\n", encoding="utf-8")
    except OSError as exc:
        raise UnsafeOutput(f"cannot write to results folder {given!r}: {exc.strerror or exc}") from None
    return out


# --------------------------------------------------------------------------- the swap


def _exchange_fn() -> Callable[[str, str], int] | None:
    """``f(a, b) -> errno`` swapping two paths atomically, or None where the C library has no such call."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        fn = libc.renameat2
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        at_fdcwd, rename_exchange = -100, 2

        def linux(a: str, b: str) -> int:
            r = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
            return 0 if r == 0 else ctypes.get_errno()

        return linux
    if sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        fn = libc.renamex_np
        fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
        rename_swap = 0x2

        def mac(a: str, b: str) -> int:
            r = fn(os.fsencode(a), os.fsencode(b), rename_swap)
            return 0 if r == 0 else ctypes.get_errno()

        return mac
    return None


_EXCHANGE = _exchange_fn()


def exchange(a: Path | str, b: Path | str) -> bool:
    """Swap two existing paths atomically; False where the system or file system cannot."""
    if _EXCHANGE is None:
        return False
    err = _EXCHANGE(os.fspath(a), os.fspath(b))
    if err == 0:
        return True
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), os.fspath(a))


def normal_dir_mode() -> int:
    """The mode ``mkdir`` gives a folder for a reader-friendly umask: ``0o755 & ~umask``."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o755 & ~umask


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _leftovers(target: Path) -> tuple[list[Path], list[Path]]:
    """(temporary folders, old versions) beside ``target`` left by processes that are gone."""
    pat = re.compile(r"^\." + re.escape(target.name) + r"-(?:tmp-(\d+)-.+|old-(\d+)|(?:tmp-)?[a-z0-9_]{8})$")
    tmps: list[Path] = []
    olds: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return tmps, olds
    for e in entries:
        m = pat.match(e.name)
        if not m or not e.is_dir(follow_symlinks=False):
            continue
        pid = m.group(1) or m.group(2)
        if pid is not None and _pid_alive(int(pid)):
            continue
        (olds if m.group(2) else tmps).append(Path(e.path))
    return tmps, olds


def recover(target: Path | str) -> None:
    """Put back an old version a killed swap left aside, and delete dead runs' temporary folders."""
    target = Path(target)
    tmps, olds = _leftovers(target)
    if olds and not os.path.lexists(target):
        newest = max(olds, key=lambda p: p.stat().st_mtime)
        os.rename(newest, target)
        olds.remove(newest)
    for p in tmps + olds:
        shutil.rmtree(p, ignore_errors=True)


def swap_in(new: Path | str, target: Path | str) -> None:
    """Make the complete folder ``new`` appear at ``target``; the previous ``target`` is deleted."""
    new, target = Path(new), Path(target)
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    if exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the previous version
        return
    old = target.parent / f".{target.name}-old-{os.getpid()}"
    if os.path.lexists(old):
        shutil.rmtree(old)
    os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)  # put the old version back; a kill here is undone by recover()
        raise
    shutil.rmtree(old, ignore_errors=True)


def make_temp_beside(target: Path | str, marker: str | None = None) -> Path:
    """A new temporary folder next to ``target`` with normal permissions (and ``marker`` written)."""
    target = Path(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-tmp-{os.getpid()}-", dir=target.parent))
    try:
        os.chmod(tmp, normal_dir_mode())
        if marker:
            (tmp / marker).write_text("written by dlfaq; it replaces this folder as a whole on every run\n",
                                      encoding="utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def publish(target: Path | str, writer: Callable[[Path], None], marker: str | None = SITE_MARKER) -> Path:
    """Run ``writer(tmp)`` on a fresh temporary folder, then swap it in at ``target``.

    Leftovers of killed runs are recovered first. If ``writer`` (or anything
    before the swap) fails or is interrupted, the temporary folder is deleted and
    ``target`` is untouched.
    """
    target = Path(os.path.abspath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    tmp = make_temp_beside(target, marker)
    try:
        writer(tmp)
        swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
