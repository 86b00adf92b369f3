"""Broken CUDA/cuDNN set-ups built in a folder, for tests, experiments and demonstrations.

Each case is a fake filesystem tree (``root/``) with tiny ELF libraries that
carry real SONAMEs (:func:`~dlfaq.doctor.elf.write_fake_library`), the
captured ``ldconfig -p`` of that tree, an ``nvidia-smi`` capture, the facts of
an installed torch (``torch.json``) and an environment (``env.json``). Start
from a healthy CUDA 11.8 + cuDNN 8.9 machine and break one thing per case.
:class:`~dlfaq.doctor.sandbox.Sandbox` runs the doctor on a case and applies
its printed fixes there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from dlfaq.doctor.elf import write_fake_library
from dlfaq.doctor.linker import format_ldconfig_p, in_root, simulate_ldconfig
from dlfaq.doctor.sandbox import MARKER

CUDA = "/usr/local/cuda-11.8/lib64"
SMI = """\
+---------------------------------------------------------------------------------------+
| NVIDIA-SMI {drv}              Driver Version: {drv}    CUDA Version: {cuda}     |
|-----------------------------------------+----------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id        Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |         Memory-Usage | GPU-Util  Compute M. |
|=========================================+======================+======================|
|   0  NVIDIA A100-SXM4-40GB          On  | 00000000:00:04.0 Off |                    0 |
| N/A   33C    P0              43W / 400W |      4MiB / 40960MiB |      0%      Default |
+-----------------------------------------+----------------------+----------------------+
"""
SMI_FAILED = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running.\n"
)


def _lib(root: Path, d: str, real: str, soname: str, links: tuple[str, ...] = ("soname", "dev")) -> None:
    """A library file plus the links a package would install (SONAME link, ``libX.so`` dev link)."""
    write_fake_library(in_root(root, f"{d}/{real}"), soname, payload=real.encode())
    host = in_root(root, d)
    if "soname" in links and soname != real:
        os.symlink(real, host / soname)
    if "dev" in links:
        os.symlink(soname, host / (real.split(".so")[0] + ".so"))


def _torch(case: Path, version: str, cuda: str | None, available: bool) -> None:
    data = {
        "version": version, "cuda": cuda, "cudnn": 8902 if cuda else None, "available": available,
        "device_count": 1 if available else 0, "devices": ["NVIDIA A100-SXM4-40GB"] if available else [],
        "error": "" if available else "CUDA unavailable", "location": "/usr/lib/python3/site-packages/torch",
    }
    (case / "torch.json").write_text(json.dumps(data, indent=1), encoding="utf-8")


def capture_ldconfig(case: Path, extra_dirs: tuple[str, ...] = ()) -> None:
    """Write the case's ``ldconfig-p.txt`` as ``ldconfig -p`` would print it for the tree (no links made)."""
    res = simulate_ldconfig(case / "root", extra_dirs, make_links=False)
    (case / "ldconfig-p.txt").write_text(format_ldconfig_p(res.entries), encoding="utf-8")


def healthy(case: Path) -> Path:
    """CUDA 11.8 + cuDNN 8.9.2 in /usr/local/cuda-11.8/lib64, known to the linker; driver 535 (CUDA 12.2)."""
    case = Path(case)
    root = case / "root"
    (root / "etc/ld.so.conf.d").mkdir(parents=True)
    (root / "etc/ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n")
    (root / "etc/ld.so.conf.d/cuda-11-8.conf").write_text(CUDA + "\n")
    _lib(root, CUDA, "libcudart.so.11.8.89", "libcudart.so.11.0")
    _lib(root, CUDA, "libcublas.so.11.11.3.6", "libcublas.so.11")
    _lib(root, CUDA, "libcudnn.so.8.9.2", "libcudnn.so.8")
    os.symlink("cuda-11.8", root / "usr/local/cuda")
    (case / MARKER).write_text("a dlfaq doctor fixture; fixes are applied only inside this folder\n")
    (case / "nvidia-smi.txt").write_text(SMI.format(drv="535.104.05", cuda="12.2"))
    (case / "env.json").write_text("{}")
    _torch(case, "2.1.2+cu118", "11.8", True)
    capture_ldconfig(case)
    return case


def cudnn_copied(case: Path) -> Path:
    """The seed page's case: cuDNN 7 installed with ``cp`` (no ``-P``), so ``libcudnn.so.7`` is an
    old regular file instead of a link to ``libcudnn.so.7.0.5``."""
    healthy(case)
    root = case / "root"
    d = "/usr/local/cuda-9.0/lib64"
    write_fake_library(in_root(root, f"{d}/libcudnn.so.7.0.5"), "libcudnn.so.7", payload=b"7.0.5")
    write_fake_library(in_root(root, f"{d}/libcudnn.so.7"), "libcudnn.so.7", payload=b"7.0.4")
    (root / "etc/ld.so.conf.d/cuda-9-0.conf").write_text(d + "\n")
    capture_ldconfig(case)
    return case


def folder_unknown(case: Path) -> Path:
    """cuDNN unpacked into /opt/cudnn/lib, a folder that no conf file or LD_LIBRARY_PATH names."""
    healthy(case)
    _lib(case / "root", "/opt/cudnn/lib", "libcudnn_adv.so.8.9.2", "libcudnn_adv.so.8")
    capture_ldconfig(case)
    return case


def broken_link(case: Path) -> Path:
    """``libcublas.so.11`` points at a version that an upgrade removed."""
    healthy(case)
    host = in_root(case / "root", CUDA)
    (host / "libcublas.so.11").unlink()
    os.symlink("libcublas.so.11.10.1.25", host / "libcublas.so.11")
    capture_ldconfig(case)
    return case


def soname_missing(case: Path) -> Path:
    """A library copied by itself: ``libcufft.so.10.9.0.58`` with no ``libcufft.so.10`` next to it."""
    healthy(case)
    _lib(case / "root", CUDA, "libcufft.so.10.9.0.58", "libcufft.so.10", links=())
    capture_ldconfig(case)
    return case


def old_copy_first_env(case: Path) -> Path:
    """An old CUDA 10.2 folder left in LD_LIBRARY_PATH shadows cuDNN 8.9.2 with 8.0.5."""
    healthy(case)
    _lib(case / "root", "/usr/local/cuda-10.2/lib64", "libcudnn.so.8.0.5", "libcudnn.so.8")
    (case / "env.json").write_text(json.dumps({"LD_LIBRARY_PATH": "/usr/local/cuda-10.2/lib64"}))
    capture_ldconfig(case)
    return case


def old_copy_first_conf(case: Path) -> Path:
    """Two conf files: the one naming an old cuDNN folder sorts first, so its copy wins."""
    healthy(case)
    root = case / "root"
    _lib(root, "/opt/cudnn-8.0/lib64", "libcudnn.so.8.0.5", "libcudnn.so.8")
    (root / "etc/ld.so.conf.d/10-cudnn-8-0.conf").write_text("/opt/cudnn-8.0/lib64\n")
    capture_ldconfig(case)
    return case


def driver_too_old(case: Path) -> Path:
    """torch built for CUDA 12.1 on driver 470 (CUDA 11.4)."""
    healthy(case)
    (case / "nvidia-smi.txt").write_text(SMI.format(drv="470.182.03", cuda="11.4"))
    _torch(case, "2.3.1+cu121", "12.1", False)
    return case


def cpu_only_torch(case: Path) -> Path:
    """A GPU machine with the CPU-only torch wheel."""
    healthy(case)
    _torch(case, "2.3.1+cpu", None, False)
    return case


def visible_devices(case: Path) -> Path:
    """``CUDA_VISIBLE_DEVICES=""`` left in the environment hides the only GPU."""
    healthy(case)
    (case / "env.json").write_text(json.dumps({"CUDA_VISIBLE_DEVICES": ""}))
    _torch(case, "2.1.2+cu118", "11.8", False)
    return case


def two_copies(case: Path) -> Path:
    """``LD_PRELOAD`` maps the system libcudart next to the copy torch loads from its wheel."""
    healthy(case)
    wheel = "/usr/lib/python3/site-packages/nvidia/cuda_runtime/lib/libcudart.so.11.0"
    (case / "maps.txt").write_text(
        f"7f1000000000-7f1000100000 r-xp 00000000 08:01 1234 {wheel}\n"
    )
    (case / "env.json").write_text(json.dumps({"LD_PRELOAD": "/opt/cuda-11.0/lib64/libcudart.so.11.0"}))
    return case


def driver_not_loaded(case: Path) -> Path:
    """nvidia-smi cannot talk to the driver (kernel module missing after an update)."""
    healthy(case)
    (case / "nvidia-smi.txt").write_text(SMI_FAILED)
    _torch(case, "2.1.2+cu118", "11.8", False)
    return case


#: name -> (builder, the finding code it must produce)
CASES: dict[str, tuple[Callable[[Path], Path], str | None]] = {
    "healthy": (healthy, None),
    "cudnn-copied": (cudnn_copied, "soname-not-symlink"),
    "folder-unknown": (folder_unknown, "folder-unknown-to-linker"),
    "broken-link": (broken_link, "broken-symlink"),
    "soname-missing": (soname_missing, "soname-link-missing"),
    "old-copy-env": (old_copy_first_env, "older-copy-wins"),
    "old-copy-conf": (old_copy_first_conf, "older-copy-wins"),
    "driver-too-old": (driver_too_old, "driver-too-old"),
    "cpu-only-torch": (cpu_only_torch, "cpu-only-torch"),
    "visible-devices": (visible_devices, "cuda-visible-devices"),
    "two-copies": (two_copies, "two-copies-loaded"),
    "driver-not-loaded": (driver_not_loaded, "driver-not-loaded"),
}
#: Cases whose fix is a command that can be checked in the sandbox.
FIXABLE = tuple(n for n in CASES if n not in ("healthy", "driver-not-loaded"))


def build(name: str, dest: str | os.PathLike[str]) -> Path:
    """Build case ``name`` in the new folder ``dest`` and return it."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=False)
    return CASES[name][0](dest)
