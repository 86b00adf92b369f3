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
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dlfaq.doctor.elf import write_fake_library
from dlfaq.doctor.imports import Invocation
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


# --------------------------------------------------------------------------- import failures


@dataclass(frozen=True)
class ImportCase:
    """A project folder plus how the failing import is run."""

    project: Path
    name: str
    script: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def invocation(self) -> Invocation:
        """``python SCRIPT`` in the project folder, with the case's environment."""
        return Invocation(cwd=self.project, script=Path(self.script) if self.script else None, env=dict(self.env))


def _files(base: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def _project(case: Path, files: dict[str, str], name: str, script: str = "app.py",
             env: dict[str, str] | None = None) -> ImportCase:
    """Write ``files`` into the project folder ``case``; its ``script`` imports ``name``."""
    _files(case, files)
    return ImportCase(case, name, script, dict(env or {}))


_PYPROJECT = (
    '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
    '[project]\nname = "mypkg"\nversion = "0.1"\n'
)


def imp_healthy(case: Path) -> ImportCase:
    return _project(case, {"pyproject.toml": _PYPROJECT, "mypkg/__init__.py": "VALUE = 1\n",
                           "train.py": "import mypkg\nprint(mypkg.VALUE)\n"}, "mypkg", "train.py")


def imp_script_in_subfolder(case: Path) -> ImportCase:
    """``python scripts/train.py``: Python adds ``scripts/`` to sys.path, not the project root."""
    return _project(case, {"pyproject.toml": _PYPROJECT, "mypkg/__init__.py": "VALUE = 1\n",
                           "mypkg/models.py": "class Net:\n    pass\n",
                           "scripts/train.py": "from mypkg.models import Net\nprint(Net)\n"},
                    "mypkg.models", "scripts/train.py")


def imp_src_layout(case: Path) -> ImportCase:
    """``src/`` layout: the package is importable only once installed (or with src on the path)."""
    return _project(case, {"pyproject.toml": _PYPROJECT, "src/mypkg/__init__.py": "VALUE = 1\n",
                           "run.py": "import mypkg\n"}, "mypkg", "run.py")


def imp_installed_elsewhere(case: Path) -> ImportCase:
    """The library sits in the project's own venv, but the script is run with another Python."""
    venv = case / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next(venv.glob("lib/python3*/site-packages"))
    _files(site, {"fancylib/__init__.py": "def hello():\n    return 'hi'\n"})
    return _project(case, {"app.py": "import fancylib\nprint(fancylib.hello())\n"}, "fancylib")


def imp_not_installed(case: Path) -> ImportCase:
    return _project(case, {"app.py": "import dlfaq_fixture_nowhere\n"}, "dlfaq_fixture_nowhere")


def imp_namespace_shadowed(case: Path) -> ImportCase:
    """``common/`` without ``__init__.py`` loses to a regular ``common`` package later on sys.path."""
    return _project(case, {"common/helpers.py": "def f():\n    return 1\n", "app.py": "from common.helpers import f\n",
                           "vendor/common/__init__.py": "# someone else's package\n"},
                    "common.helpers", env={"PYTHONPATH": str(case / "vendor")})


def imp_shadow_stdlib(case: Path) -> ImportCase:
    """A ``random.py`` of one's own next to the script hides the standard library's."""
    return _project(case, {"random.py": "# my experiments with randomness\n",
                           "app.py": "import random\nprint(random.randint(1, 6))\n"}, "random")


def imp_shadow_tree(case: Path) -> ImportCase:
    """A ``numpy/`` source checkout in the current folder hides the installed numpy."""
    return _project(case, {"numpy/__init__.py": "from numpy._core import multiarray  # needs the compiled build\n",
                           "numpy/_core/__init__.py": "", "app.py": "import numpy\n"}, "numpy")


def imp_syntax_error(case: Path) -> ImportCase:
    """A typo in the package's own code: the import fails with SyntaxError at models.py:2."""
    return _project(case, {"mypkg/__init__.py": "from .models import Net\n",
                           "mypkg/models.py": "class Net:\n    def forward(self, x:\n        return x\n",
                           "app.py": "import mypkg\n"}, "mypkg")


def imp_dependency_missing(case: Path) -> ImportCase:
    """The package is found; a library one of its modules imports (at io.py:1) is not installed."""
    return _project(case, {"mypkg/__init__.py": "from .io import load\n",
                           "mypkg/io.py": "import dlfaq_fixture_missing_dep\n\ndef load():\n    pass\n",
                           "app.py": "import mypkg\n"}, "mypkg")


def imp_circular(case: Path) -> ImportCase:
    """``models`` and ``losses`` import names from each other at the top: a circular import."""
    return _project(case, {"models.py": "from losses import focal\n\ndef net():\n    return focal\n",
                           "losses.py": "from models import net\n\ndef focal():\n    return net\n",
                           "app.py": "import models\n"}, "models")


#: name -> (builder, finding code it must produce (None: healthy), fixable by a printed command)
IMPORT_CASES: dict[str, tuple[Callable[[Path], ImportCase], str | None, bool]] = {
    "healthy": (imp_healthy, None, False),
    "script-in-subfolder": (imp_script_in_subfolder, "not-on-sys-path", True),
    "src-layout": (imp_src_layout, "not-on-sys-path", True),
    "installed-elsewhere": (imp_installed_elsewhere, "installed-elsewhere", True),
    "not-installed": (imp_not_installed, "not-installed", False),
    "namespace-shadowed": (imp_namespace_shadowed, "namespace-shadowed", True),
    "shadow-stdlib": (imp_shadow_stdlib, "shadowed-by-local", True),
    "shadow-tree": (imp_shadow_tree, "shadowed-by-local", True),
    "syntax-error": (imp_syntax_error, "syntax-error", False),
    "dependency-missing": (imp_dependency_missing, "dependency-missing", False),
    "circular": (imp_circular, "circular-import", False),
}


def build_import(name: str, dest: str | os.PathLike[str]) -> ImportCase:
    """Build import case ``name`` in the new folder ``dest`` (a sandbox case: fixes apply inside it)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=False)
    (dest / MARKER).write_text("a dlfaq doctor fixture; fixes are applied only inside this folder\n")
    return IMPORT_CASES[name][0](dest)
