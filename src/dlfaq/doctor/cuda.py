"""Why CUDA/cuDNN does (not) work here: torch build, driver, loaded libraries, linker view.

:func:`diagnose_cuda` gathers facts and returns a :class:`~dlfaq.doctor.findings.Report`.
It reads and never writes. Every outside command runs with an argument list,
a timeout, and is skipped when missing. ``root`` lets it examine another tree
(a container image, a mounted disk); captured ``ldconfig -p`` /
``nvidia-smi`` output and a ``TorchFacts`` stand in for what cannot be run there.

Background the checks rely on:

* ``nvidia-smi``'s "CUDA Version" is the newest CUDA *runtime* the driver can
  serve, not an installed toolkit. A runtime newer than the driver's major
  version fails ("driver version is insufficient"); within one major version,
  CUDA's minor-version compatibility (CUDA >= 11.1) lets a newer runtime run,
  except for features such as JIT-compiling newer PTX.
* PyTorch wheels from PyPI/download.pytorch.org load CUDA, cuDNN, cuBLAS and
  NCCL from the ``nvidia-*`` pip packages (found through the RPATH of torch's
  own libraries), so a system toolkit under ``/usr/local/cuda`` does not
  matter to torch; only the driver does.
* ``torch.utils.collect_env`` prints the cuDNN it finds on the system, which
  may not be the one torch loaded; ``/proc/self/maps`` says which file is
  actually mapped into the process.
"""

from __future__ import annotations

import filecmp
import glob
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from dlfaq.doctor.elf import version_key
from dlfaq.doctor.findings import Finding, Report, Severity, cmd
from dlfaq.doctor.linker import (
    CUDA_FAMILY,
    CacheEntry,
    LibFile,
    family,
    host_flags,
    in_root,
    is_cuda_library,
    parse_ldconfig_p,
    read_conf_dirs,
    resolve_in_root,
    scan_dir,
    simulate_ldconfig,
    trusted_dirs,
)

#: CUDA versions with a PyTorch wheel index ``https://download.pytorch.org/whl/cuXYZ``.
TORCH_CUDA_TAGS = ("10.2", "11.1", "11.3", "11.6", "11.7", "11.8", "12.1", "12.4", "12.6", "12.8", "12.9", "13.0")
_TIMEOUT = 15.0


# --------------------------------------------------------------------------- facts


@dataclass
class TorchFacts:
    """What the installed torch says about itself (``cuda is None``: a CPU-only build)."""

    version: str
    cuda: str | None
    cudnn: int | None
    available: bool
    device_count: int = 0
    devices: tuple[str, ...] = ()
    error: str = ""
    location: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TorchFacts:
        """Facts from their JSON form; a missing, unknown or mistyped field raises ValueError."""
        types: dict[str, tuple[type, ...]] = {
            "version": (str,), "cuda": (str, type(None)), "cudnn": (int, type(None)), "available": (bool,),
            "device_count": (int,), "devices": (list, tuple), "error": (str,), "location": (str,),
        }
        d = dict(data)
        unknown = sorted(set(d) - set(types))
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r}")
        for key in ("version", "cuda", "cudnn", "available"):
            if key not in d:
                raise ValueError(f"missing field {key!r}")
        for key, val in d.items():
            if not isinstance(val, types[key]) or (key in ("cudnn", "device_count") and isinstance(val, bool)):
                raise ValueError(f"field {key!r} has the wrong type ({type(val).__name__})")
        if not all(isinstance(x, str) for x in d.get("devices", ())):
            raise ValueError("field 'devices' must be a list of strings")
        if d.get("device_count", 0) < 0:
            raise ValueError("field 'device_count' is negative")
        d["devices"] = tuple(d.get("devices", ()))
        return cls(**d)


def collect_torch_facts(init: bool = True) -> TorchFacts | None:
    """Ask the installed torch; None when torch does not import."""
    try:
        import torch  # here, not at the top: the doctor must load (and report) when torch is broken
    except Exception:  # noqa: BLE001 - a broken torch is a finding, not a crash
        return None
    cuda = torch.version.cuda
    available = bool(torch.cuda.is_available())
    error = ""
    devices: tuple[str, ...] = ()
    cudnn = None
    if cuda is not None and init:
        try:
            torch.cuda.init()
            devices = tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        except Exception as exc:  # noqa: BLE001 - the message is the reason we report
            error = f"{type(exc).__name__}: {exc}".strip()
        try:
            cudnn = torch.backends.cudnn.version()
        except Exception:  # noqa: BLE001
            cudnn = None
    elif cuda is None:
        error = "this torch build has no CUDA support (torch.version.cuda is None)"
    return TorchFacts(
        version=str(torch.__version__),
        cuda=cuda,
        cudnn=cudnn,
        available=available,
        device_count=len(devices) if available else 0,
        devices=devices if available else (),
        error=error,
        location=str(Path(torch.__file__).parent),
    )


@dataclass
class DriverFacts:
    """The NVIDIA driver as ``nvidia-smi`` (or ``/proc/driver/nvidia/version``) reports it."""

    source: str  # "nvidia-smi", "captured nvidia-smi output", "/proc/driver/nvidia/version", "none"
    version: str | None = None
    cuda: str | None = None  # newest CUDA runtime the driver supports
    gpus: tuple[str, ...] = ()
    failed: str = ""  # nvidia-smi's own error message, when it failed

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["cuda_note"] = (
            "the newest CUDA version this driver supports, not an installed CUDA toolkit"
        )
        return d


_SMI_DRIVER = re.compile(r"Driver Version:\s*([0-9.]+)")
_SMI_CUDA = re.compile(r"CUDA Version:\s*([0-9.]+)")
_SMI_GPU = re.compile(r"^\|\s+(\d+)\s+(.+?)\s+(On|Off)\s+\|")
_PROC_VERSION = re.compile(r"Kernel Module(?: for \S+)?\s+([0-9]+\.[0-9.]+)")


def parse_nvidia_smi(text: str) -> DriverFacts:
    """Parse plain ``nvidia-smi`` output (the table) into driver version, CUDA version and GPUs."""
    drv = _SMI_DRIVER.search(text)
    cu = _SMI_CUDA.search(text)
    gpus = tuple(m.group(2).strip() for line in text.splitlines() if (m := _SMI_GPU.match(line)))
    failed = ""
    if not drv and ("failed" in text.lower() or "couldn't communicate" in text.lower()):
        failed = " ".join(text.split())[:300]
    return DriverFacts(
        source="nvidia-smi",
        version=drv.group(1) if drv else None,
        cuda=cu.group(1) if cu else None,
        gpus=gpus,
        failed=failed,
    )


def _run(argv: list[str], timeout: float = _TIMEOUT) -> tuple[int, str] | None:
    """Run a command (no shell); None when it is missing or times out."""
    exe = shutil.which(argv[0]) or (argv[0] if os.path.isabs(argv[0]) else None)
    if exe is None:
        for d in ("/sbin", "/usr/sbin", "/usr/bin", "/bin"):
            cand = os.path.join(d, argv[0])
            if os.access(cand, os.X_OK):
                exe = cand
                break
    if exe is None:
        return None
    try:
        p = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.returncode, p.stdout + p.stderr


def collect_driver(root: Path, nvidia_smi_output: str | None, live: bool) -> DriverFacts:
    if nvidia_smi_output is not None:
        d = parse_nvidia_smi(nvidia_smi_output)
        d.source = "captured nvidia-smi output"
        return d
    if live:
        got = _run(["nvidia-smi"])
        if got is not None:
            return parse_nvidia_smi(got[1])
    proc = in_root(root, "/proc/driver/nvidia/version")
    try:
        m = _PROC_VERSION.search(proc.read_text())
        if m:
            return DriverFacts(source="/proc/driver/nvidia/version", version=m.group(1))
    except OSError:
        pass
    return DriverFacts(source="none")


def pci_nvidia_gpus(root: Path = Path("/")) -> int:
    """NVIDIA display/3D controllers on the PCI bus (vendor 0x10de, class 0x03xxxx), driver or not."""
    n = 0
    for dev in glob.glob(str(in_root(root, "/sys/bus/pci/devices/*"))):
        try:
            vendor = Path(dev, "vendor").read_text().strip()
            klass = Path(dev, "class").read_text().strip()
        except OSError:
            continue
        if vendor == "0x10de" and klass.startswith("0x03"):
            n += 1
    return n


_MAPS_PATH = re.compile(r"\s(/\S.*)$")


def parse_maps(text: str) -> list[str]:
    """CUDA-family library files mapped into a process, from ``/proc/PID/maps`` text."""
    out: list[str] = []
    for line in text.splitlines():
        m = _MAPS_PATH.search(line)
        if not m:
            continue
        path = m.group(1).replace(" (deleted)", "")
        if is_cuda_library(os.path.basename(path)) and path not in out:
            out.append(path)
    return out


def cuda_wheels() -> list[dict[str, str]]:
    """Installed ``nvidia-*`` pip packages (the CUDA libraries PyTorch wheels load)."""
    out = []
    for dist in metadata.distributions():
        name = (dist.metadata.get_all("Name") or [""])[0].strip()
        if name.lower().startswith("nvidia-"):
            out.append({"name": name, "version": dist.version})
    return sorted(out, key=lambda d: d["name"].lower())


def _wheel_lib_dirs(root: Path, live: bool) -> list[str]:
    pats = [
        "/usr/lib/python3*/site-packages/nvidia/*/lib",
        "/usr/local/lib/python3*/site-packages/nvidia/*/lib",
        "/usr/local/lib/python3*/dist-packages/nvidia/*/lib",
        "/opt/conda/lib/python3*/site-packages/nvidia/*/lib",
    ]
    found: list[str] = []
    if live:
        try:
            spec = importlib.util.find_spec("nvidia")
        except (ImportError, ValueError):
            spec = None
        for loc in (spec.submodule_search_locations or []) if spec else []:
            found += sorted(glob.glob(os.path.join(loc, "*", "lib")))
    for pat in pats:
        for hit in sorted(glob.glob(str(in_root(root, pat)))):
            p = "/" + str(Path(hit).relative_to(root)) if str(root) != "/" else hit
            if p not in found:
                found.append(p)
    return found


# --------------------------------------------------------------------------- helpers


def _cuda_tuple(v: str | None) -> tuple[int, int] | None:
    if not v:
        return None
    m = re.match(r"(\d+)\.(\d+)", v)
    return (int(m.group(1)), int(m.group(2))) if m else None


def best_torch_tag(driver_cuda: str | None) -> str | None:
    """Newest PyTorch CUDA wheel tag (``cu124``) that the driver can run, or None."""
    d = _cuda_tuple(driver_cuda)
    if d is None:
        return None
    ok = [t for t in TORCH_CUDA_TAGS if tuple(int(p) for p in t.split(".")) <= d]
    return "cu" + ok[-1].replace(".", "") if ok else None


def visible_devices_hide_all(value: str | None, n_gpus: int | None) -> bool:
    """Whether ``CUDA_VISIBLE_DEVICES=value`` leaves no GPU visible.

    CUDA reads the comma-separated list up to the first invalid entry; an
    empty value, ``-1``, ``none`` or an index past the last GPU as the first
    entry hides every device.
    """
    if value is None:
        return False
    tokens = [t.strip() for t in value.split(",")]
    first = tokens[0] if tokens else ""
    if first == "":
        return True
    if first.startswith(("GPU-", "MIG-")):
        return False
    try:
        idx = int(first)
    except ValueError:
        return True
    if idx < 0:
        return True
    return n_gpus is not None and idx >= n_gpus


def _same_content(a: Path, b: Path) -> bool:
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        return filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _host(root: Path, p: str) -> str:
    return str(in_root(root, p)) if str(root) != "/" else p


def _ldconfig_cmd(root: Path, live: bool) -> str:
    return cmd("ldconfig", sudo=True) if str(root) == "/" else cmd("ldconfig", "-r", str(root), sudo=True)


def _pip_torch_cmd(tag: str) -> str:
    return cmd(
        sys.executable, "-m", "pip", "install", "--force-reinstall", "torch",
        "--index-url", f"https://download.pytorch.org/whl/{tag}",
    )


def _conf_name(d: str, first: bool = False) -> str:
    return ("00-" if first else "") + "dlfaq-" + d.strip("/").replace("/", "-") + ".conf"


def _conf_file_fix(root: Path, live: bool, d: str, first: bool = False) -> tuple[str, str]:
    """Name ``d`` in a file of ``ld.so.conf.d`` and rebuild the cache: unlike ``ldconfig DIR``, it lasts.

    ``first`` gives the file a name that sorts before the others, so its folder wins a tie.
    """
    conf = _host(root, "/etc/ld.so.conf.d/" + _conf_name(d, first))
    return f"echo {cmd(d)} | " + cmd("tee", conf, sudo=True), _ldconfig_cmd(root, live)


def _ld_library_path_without(ld_dirs: list[str], drop: Collection[str]) -> str:
    """The command that takes the folders ``drop`` out of ``LD_LIBRARY_PATH`` (for this shell)."""
    keep = [d for d in ld_dirs if d not in drop]
    return "export LD_LIBRARY_PATH=" + shlex.quote(":".join(keep)) if keep else "unset LD_LIBRARY_PATH"


# --------------------------------------------------------------------------- diagnosis


def diagnose_cuda(
    root: str | os.PathLike[str] = "/",
    *,
    ldconfig_output: str | None = None,
    nvidia_smi_output: str | None = None,
    env: Mapping[str, str] | None = None,
    torch_facts: TorchFacts | None = None,
    maps_text: str | None = None,
    examine_process: bool | None = None,
) -> Report:
    """Diagnose the CUDA/cuDNN set-up of ``root`` (this machine when ``/``).

    ``examine_process`` (default: ``root == "/"`` and no ``torch_facts`` given)
    asks this process's torch, initializes CUDA when it can, and reads
    ``/proc/self/maps``. Otherwise torch facts, loaded libraries and the
    driver come from the arguments, when given.
    """
    root = Path(root)
    live = str(root) == "/"
    env = dict(os.environ if env is None else env)
    if examine_process is None:
        examine_process = live and torch_facts is None
    rep = Report(kind="cuda")
    facts = rep.facts
    facts["root"] = str(root)
    facts["python"] = sys.version.split()[0] if live else None

    # ---- torch, driver, GPU
    if examine_process:
        torch_facts = collect_torch_facts(init=True)
        if maps_text is None:
            try:
                maps_text = Path("/proc/self/maps").read_text()
            except OSError:
                maps_text = None
    facts["torch"] = torch_facts.to_json() if torch_facts else None
    drv = collect_driver(root, nvidia_smi_output, live)
    facts["driver"] = drv.to_json()
    pci = pci_nvidia_gpus(root) if live else 0
    facts["pci_nvidia_gpus"] = pci
    _check_gpu(rep, torch_facts, drv, pci, env, root)

    # ---- loaded libraries
    loaded = parse_maps(maps_text) if maps_text is not None else None
    facts["loaded_libraries"] = loaded
    if loaded:
        _check_loaded(rep, loaded, env)
    wheels = cuda_wheels() if examine_process else []
    facts["cuda_wheels"] = wheels
    if wheels and torch_facts and torch_facts.cuda:
        rep.add(
            Finding(
                "cuda-from-wheels",
                Severity.INFO,
                f"torch uses the CUDA libraries of {len(wheels)} pip packages (nvidia-*)",
                "These wheels ship libcudart, libcudnn, libcublas, ... and torch finds them through\n"
                "its RPATH, so the system CUDA toolkit and cuDNN (for example /usr/local/cuda) are\n"
                "not what torch runs on; only the NVIDIA driver must be new enough.\n"
                + ", ".join(f"{w['name']}=={w['version']}" for w in wheels),
            )
        )

    # ---- linker view and library folders
    _check_linker(rep, root, live, env, ldconfig_output)
    if loaded:
        _compare_loaded_with_system(rep, root, loaded)
    return rep


def _compare_loaded_with_system(rep: Report, root: Path, loaded: list[str]) -> None:
    """Say which copy the process uses when the linker would hand out another one.

    Tools that look at the system (``ldconfig -p``, ``torch.utils.collect_env``)
    report the second; only ``/proc/self/maps`` knows the first.
    """
    entries = rep.facts.get("linker", {}).get("cuda_entries", [])
    for path in loaded:
        fam = family(os.path.basename(path))
        system = [e["path"] for e in entries if family(e["soname"]) == fam and not e["soname"].endswith(".so")]
        real_loaded = os.path.realpath(path)
        others = []
        for sp in system:
            r = resolve_in_root(root, sp)
            host = str(in_root(root, r)) if r else None
            if host and os.path.realpath(host) != real_loaded and sp not in others:
                others.append(sp)
        if others:
            rep.add(
                Finding(
                    "loaded-differs-from-system",
                    Severity.INFO,
                    f"this process uses {path}; the system's {fam} is {others[0]}",
                    "The process loaded its own copy (typically a pip wheel found through torch's RPATH).\n"
                    "`ldconfig -p` and torch.utils.collect_env describe the system copy, which this process\n"
                    "does not use: upgrading or breaking it does not affect torch.",
                    data={"loaded": path, "system": others},
                )
            )


def _check_gpu(
    rep: Report, tf: TorchFacts | None, drv: DriverFacts, pci: int, env: Mapping[str, str], root: Path
) -> None:
    """Can torch use a GPU here? A finding per reason it cannot, and ``facts["gpu"]``: usable, and why."""
    hardware = bool(drv.gpus) or pci > 0 or drv.version is not None
    why: list[str] = []  # reasons no GPU is usable, in the order they are told
    if drv.failed:
        rep.add(
            Finding(
                "driver-not-loaded",
                Severity.ERROR,
                "nvidia-smi cannot talk to the NVIDIA driver",
                f"nvidia-smi said: {drv.failed}\nThe kernel module is not loaded or does not match the\n"
                "installed user-space driver (typical after a driver or kernel update without a reboot).",
                fix=(cmd("modprobe", "nvidia", sudo=True),),
                fix_note="If modprobe fails, reboot; `dmesg | grep -i nvidia` shows the reason.",
            )
        )
        why.append("the NVIDIA driver is not working (nvidia-smi failed)")
    if tf is None:
        rep.facts["gpu"] = {"usable": None, "why": "torch was not examined"}
        return
    if tf.cuda is None:
        _check_cpu_build(rep, tf, drv, hardware, why)
    else:
        _check_cuda_build(rep, tf, drv, pci, hardware, why)
    cvd = env.get("CUDA_VISIBLE_DEVICES")
    hides = visible_devices_hide_all(cvd, len(drv.gpus) or None)
    if hides and hardware:
        why.append(f"CUDA_VISIBLE_DEVICES={cvd!r} hides every GPU")
        rep.add(
            Finding(
                "cuda-visible-devices",
                Severity.ERROR,
                f"CUDA_VISIBLE_DEVICES={cvd!r} hides every GPU",
                f"nvidia-smi lists {len(drv.gpus)} GPU(s), but CUDA only sees the devices named in this variable.",
                fix=("unset CUDA_VISIBLE_DEVICES",),
                fix_note="Or name the GPUs to use, e.g. `export CUDA_VISIBLE_DEVICES=0`.",
            )
        )
    _gpu_verdict(rep, tf, hides, hardware, why)


def _check_cpu_build(rep: Report, tf: TorchFacts, drv: DriverFacts, hardware: bool, why: list[str]) -> None:
    """A torch wheel built without CUDA: a problem only where there is an NVIDIA GPU to use."""
    why.insert(0, f"this torch ({tf.version}) is a CPU-only build")
    if not hardware:
        why.append("no NVIDIA GPU or driver was found (no nvidia-smi, no /proc/driver/nvidia)")
        return
    if drv.failed:  # the driver is the problem to fix first
        return
    tag = best_torch_tag(drv.cuda)
    rep.add(
        Finding(
            "cpu-only-torch",
            Severity.ERROR,
            f"torch {tf.version} is a CPU-only build, but this machine has an NVIDIA GPU",
            "torch.cuda.is_available() is False because this wheel was built without CUDA.\n"
            + (f"The driver supports CUDA up to {drv.cuda}; the newest matching wheel index is {tag}." if tag else ""),
            fix=(_pip_torch_cmd(tag or "cu126"),),
            fix_note="Pick the torch release you need on pytorch.org; the cuXYZ tag must not exceed the driver's CUDA version.",
            data={"tag": tag},
        )
    )


def _check_cuda_build(rep: Report, tf: TorchFacts, drv: DriverFacts, pci: int, hardware: bool,
                      why: list[str]) -> None:
    """A CUDA build of torch: is there a driver, and does it serve torch's CUDA version?"""
    if not hardware:
        why.append("no NVIDIA GPU or driver was found (no nvidia-smi, no /proc/driver/nvidia)")
    elif pci and drv.version is None and not drv.failed:
        why.append("an NVIDIA GPU is on the PCI bus but no driver is installed")
        rep.add(
            Finding(
                "no-driver",
                Severity.ERROR,
                "NVIDIA GPU present but no NVIDIA driver",
                f"{pci} NVIDIA device(s) on the PCI bus; nvidia-smi and /proc/driver/nvidia are missing.",
                fix_note="Install the NVIDIA driver from your distribution (Ubuntu: `sudo ubuntu-drivers install`), then reboot.",
            )
        )
    tc, dc = _cuda_tuple(tf.cuda), _cuda_tuple(drv.cuda)
    if tc and dc and dc < tc:
        if dc[0] < tc[0]:
            why.append(f"the driver supports CUDA {drv.cuda} but torch was built for CUDA {tf.cuda}")
        rep.add(_driver_behind(tf, drv, best_torch_tag(drv.cuda), across_major=dc[0] < tc[0]))


def _gpu_verdict(rep: Report, tf: TorchFacts, hides: bool, hardware: bool, why: list[str]) -> None:
    """``facts["gpu"]``, and a finding when no GPU is usable but no error above says why."""
    if tf.error and tf.cuda is not None and not tf.available:
        why.append(f"torch.cuda.init() said: {tf.error}")
    usable = bool(tf.available) and not hides and not any(
        f.code in ("driver-too-old", "driver-not-loaded", "no-driver") for f in rep.findings
    )
    if not usable and not why:
        why.append(tf.error or "torch.cuda.is_available() returned False")
    rep.facts["gpu"] = {
        "usable": usable,
        "why": "; ".join(why) if not usable else f"{tf.device_count} GPU(s): {', '.join(tf.devices)}",
    }
    if usable or any(f.severity is Severity.ERROR for f in rep.findings):
        return
    if hardware and tf.cuda is not None:
        rep.add(
            Finding(
                "cuda-unavailable",
                Severity.ERROR,
                "an NVIDIA GPU and driver are present, but torch cannot use them",
                f"torch said: {tf.error or 'torch.cuda.is_available() returned False'}",
                fix_note="See the full error with: python -c 'import torch; torch.cuda.init()'",
            )
        )
    else:
        rep.add(
            Finding(
                "no-gpu",
                Severity.INFO,
                "no usable GPU: " + "; ".join(why),
                "Nothing to fix when this machine is meant to run on the CPU.",
            )
        )


def _driver_behind(tf: TorchFacts, drv: DriverFacts, tag: str | None, *, across_major: bool) -> Finding:
    """The driver serves an older CUDA than torch was built for: fatal across a major version, fragile within one."""
    if across_major:
        finding = Finding(
            "driver-too-old",
            Severity.ERROR,
            f"driver {drv.version} (CUDA {drv.cuda}) is too old for torch's CUDA {tf.cuda}",
            "A CUDA runtime needs a driver of at least its major version; minor-version\n"
            "compatibility does not cross major versions.",
            fix_note=f"Or upgrade the NVIDIA driver to one that supports CUDA {tf.cuda}.",
        )
    else:
        finding = Finding(
            "driver-older-minor",
            Severity.WARNING,
            f"driver supports CUDA {drv.cuda}, torch was built for {tf.cuda}",
            "This runs through CUDA minor-version compatibility, but kernels that need JIT\n"
            "compilation of newer PTX fail (CUDA_ERROR_UNSUPPORTED_PTX_VERSION).",
            fix_note=f"Or upgrade the driver to one that supports CUDA {tf.cuda}.",
        )
    # Either way the wheel for the newest CUDA the driver serves fixes it without touching the driver.
    return replace(finding, fix=(_pip_torch_cmd(tag),) if tag else (), data={"tag": tag})


def _check_loaded(rep: Report, loaded: list[str], env: Mapping[str, str]) -> None:
    groups: dict[str, list[str]] = {}
    for p in loaded:
        real = os.path.realpath(p)
        g = groups.setdefault(family(os.path.basename(p)), [])
        if real not in [os.path.realpath(x) for x in g]:
            g.append(p)
    ld_dirs = [d for d in env.get("LD_LIBRARY_PATH", "").split(":") if d]
    preload = env.get("LD_PRELOAD", "")
    for fam, paths in groups.items():
        if len(paths) < 2:
            continue
        fix: list[str] = []
        bad_dirs = [os.path.dirname(p) for p in paths if os.path.dirname(p) in ld_dirs]
        if any(p in preload for p in paths):
            fix.append("unset LD_PRELOAD")
        elif bad_dirs:
            fix.append(_ld_library_path_without(ld_dirs, bad_dirs))
        rep.add(
            Finding(
                "two-copies-loaded",
                Severity.ERROR,
                f"two different {fam} libraries are loaded in this process",
                "\n".join(paths) + "\nTwo copies of a CUDA library in one process lead to version\n"
                "mismatch errors or crashes; one of them usually comes from LD_LIBRARY_PATH or LD_PRELOAD.",
                fix=tuple(fix),
                fix_note="" if fix else "Find which package loads the second copy (`LD_DEBUG=libs python -c 'import torch'`).",
                data={"paths": paths},
            )
        )


def linker_view(root: Path, ldconfig_output: str | None) -> tuple[list[CacheEntry], str]:
    """Entries of the loader's cache and where they came from."""
    if ldconfig_output is not None:
        return parse_ldconfig_p(ldconfig_output), "captured ldconfig -p output"
    if str(root) == "/":
        got = _run(["ldconfig", "-p"])
        if got is not None and got[0] == 0:
            return parse_ldconfig_p(got[1]), "ldconfig -p"
    cache = in_root(root, "/etc/ld.so.cache")
    if str(root) != "/" and cache.is_file():
        got = _run(["ldconfig", "-C", str(cache), "-p"])
        if got is not None and got[0] == 0:
            return parse_ldconfig_p(got[1]), f"ldconfig -C {cache} -p"
    return simulate_ldconfig(root, make_links=False).entries, "computed from ld.so.conf (no cache read)"


def _check_linker(
    rep: Report, root: Path, live: bool, env: Mapping[str, str], ldconfig_output: str | None
) -> None:
    entries, source = linker_view(root, ldconfig_output)
    flags = host_flags()
    entries = [e for e in entries if e.flags.split(",")[:2] == flags.split(",")[:2] or e.flags == flags]
    rep.facts["linker"] = {"source": source, "cuda_entries": [
        {"soname": e.soname, "path": e.path} for e in entries if is_cuda_library(e.soname)
    ]}
    ld_dirs = [d.rstrip("/") for d in env.get("LD_LIBRARY_PATH", "").split(":") if d]
    rep.facts["ld_library_path"] = ld_dirs
    conf = read_conf_dirs(root)
    conf_dirs = [d for d, _ in conf]
    wheel_dirs = _wheel_lib_dirs(root, live)
    known_real = {resolve_in_root(root, os.path.dirname(e.path)) for e in entries}
    known_real |= {resolve_in_root(root, d) for d in ld_dirs}
    known_real.discard(None)

    cand: list[str] = []
    for pat in (
        "/usr/local/cuda*/lib64", "/usr/local/cuda*/lib", "/usr/local/cuda*/targets/*/lib",
        "/usr/local/*/lib64", "/opt/*/lib", "/opt/*/lib64", "/opt/nvidia/*/lib*",
    ):
        for hit in sorted(glob.glob(str(in_root(root, pat)))):
            cand.append("/" + str(Path(hit).relative_to(root)) if not live else hit)
    dirs: list[str] = []
    seen: set[str] = set()
    for d in [*ld_dirs, *conf_dirs, *trusted_dirs(), *{os.path.dirname(e.path) for e in entries
              if is_cuda_library(e.soname)}, *cand, *wheel_dirs]:
        real = resolve_in_root(root, d)
        if real is None or real in seen or not in_root(root, real).is_dir():
            continue
        seen.add(real)
        dirs.append(d)
    known_sonames = {e.soname for e in entries}
    for d in ld_dirs:
        known_sonames |= {f.name for f in scan_dir(root, d) if f.name == f.soname}
    rep.facts["library_dirs"] = []
    for d in dirs:
        files = scan_dir(root, d, only=CUDA_FAMILY)
        cuda = [f for f in files if is_cuda_library(f.name)]
        if not cuda:
            continue
        rep.facts["library_dirs"].append({"dir": d, "files": [f.name for f in cuda]})
        is_wheel = d in wheel_dirs
        _check_dir(rep, root, d, cuda, live)
        real = resolve_in_root(root, d)
        # A folder the linker does not search matters only when something in it cannot be
        # found elsewhere: an old toolkit left next to the current one is not a problem.
        missing = sorted({f.soname for f in cuda if f.soname} - known_sonames)
        if not is_wheel and real not in known_real and missing:
            if d in conf_dirs:
                rep.add(
                    Finding(
                        "linker-cache-stale",
                        Severity.WARNING,
                        f"{d} is in ld.so.conf but not in the linker cache",
                        "ldconfig has not been run since the folder was added or filled.",
                        fix=(_ldconfig_cmd(root, live),),
                        data={"dir": d},
                    )
                )
            else:
                rep.add(
                    Finding(
                        "folder-unknown-to-linker",
                        Severity.WARNING,
                        f"the dynamic linker does not know {d}",
                        "It holds CUDA libraries ("
                        + ", ".join(missing)
                        + ") but is neither in ld.so.conf(.d) nor in LD_LIBRARY_PATH,\n"
                        "so programs that are not linked with an RPATH to it cannot load them.\n"
                        "`ldconfig DIR` alone adds it only until the next plain `ldconfig` run;\n"
                        "a conf file makes it permanent.",
                        fix=_conf_file_fix(root, live, d),
                        fix_note=f"Or, for one shell only: export LD_LIBRARY_PATH={d}:$LD_LIBRARY_PATH",
                        data={"dir": d},
                    )
                )
    _check_order(rep, root, live, entries, ld_dirs)


def _check_dir(rep: Report, root: Path, d: str, files: list[LibFile], live: bool) -> None:
    by_name = {f.name: f for f in files}
    carriers: dict[str, list[LibFile]] = {}
    for f in files:
        if not f.is_link and f.soname and f.name != f.soname:
            carriers.setdefault(f.soname, []).append(f)
    sudo = live
    for f in files:
        if f.is_link and f.resolved is None:
            wanted = [c for c in files if not c.is_link and c.soname == f.name]
            if not wanted:
                wanted = [c for c in files if not c.is_link and c.soname and f.name.startswith(family(c.name) + ".so")
                          and (c.soname == f.name or f.name.endswith(".so"))]
            best = max(wanted, key=lambda c: version_key(c.name), default=None)
            fix = (cmd("ln", "-sf", best.name, _host(root, f.path), sudo=sudo),) if best else (
                cmd("rm", _host(root, f.path), sudo=sudo),
            )
            rep.add(
                Finding(
                    "broken-symlink",
                    Severity.ERROR,
                    f"{f.path} is a broken link (-> {f.target})",
                    "The file it points to does not exist, so loading this name fails."
                    + (f"\n{best.name} in the same folder carries this name." if best else ""),
                    fix=fix,
                    data={"path": f.path, "target": f.target},
                )
            )
    for so, cs in carriers.items():
        best = max(cs, key=lambda c: version_key(c.name))
        cur = by_name.get(so)
        link_path = _host(root, f"{d.rstrip('/')}/{so}")
        if cur is not None and not cur.is_link:
            same = _same_content(in_root(root, cur.path), in_root(root, best.path))
            rep.add(
                Finding(
                    "soname-not-symlink",
                    Severity.WARNING if same else Severity.ERROR,
                    f"{d.rstrip('/')}/{so} is a regular file, not a link to {best.name}",
                    "The loader opens libraries by SONAME, i.e. this file. ldconfig warns\n"
                    f"'{so} is not a symbolic link' and leaves it alone. "
                    + ("It is an identical copy today, but the next upgrade will leave it stale."
                       if same else f"Its content differs from {best.name}, so the wrong version is loaded."),
                    fix=(cmd("ln", "-sf", best.name, link_path, sudo=sudo),),
                    data={"soname": so, "target": best.name, "identical": same},
                )
            )
        elif cur is None:
            rep.add(
                Finding(
                    "soname-link-missing",
                    Severity.ERROR,
                    f"no {so} next to {best.name} in {d}",
                    "Programs ask the loader for the SONAME; without a file or link of that name\n"
                    "the library is not found (ldconfig would have created the link).",
                    fix=(cmd("ln", "-sf", best.name, link_path, sudo=sudo),),
                    data={"soname": so, "target": best.name},
                )
            )


def _check_order(rep: Report, root: Path, live: bool, entries: list[CacheEntry], ld_dirs: list[str]) -> None:
    """For each CUDA SONAME, does the loader's first candidate hold the newest copy?"""
    for so in _cuda_sonames(root, entries, ld_dirs):
        order = _search_order(root, so, entries, ld_dirs)
        if len(order) < 2:
            continue
        newest = max(order, key=lambda o: version_key(os.path.basename(o[2])))
        first = order[0]
        if version_key(os.path.basename(first[2])) >= version_key(os.path.basename(newest[2])):
            continue
        if first[0] == "LD_LIBRARY_PATH":
            fix: tuple[str, ...] = (_ld_library_path_without(ld_dirs, (os.path.dirname(first[1]),)),)
        else:
            fix = _conf_file_fix(root, live, os.path.dirname(newest[1]), first=True)
        rep.add(
            Finding(
                "older-copy-wins",
                Severity.WARNING,
                f"{so}: the loader finds {os.path.basename(first[2])} before {os.path.basename(newest[2])}",
                "Search order: " + " -> ".join(f"{o[1]} ({o[0]}, {os.path.basename(o[2])})" for o in order),
                fix=fix,
                data={"soname": so, "first": first[2], "newest": newest[2]},
            )
        )


def _cuda_sonames(root: Path, entries: list[CacheEntry], ld_dirs: list[str]) -> list[str]:
    """CUDA SONAMEs the loader can hand out: from its cache, then from ``LD_LIBRARY_PATH`` folders.

    Only SONAMEs: programs load those at run time; ``libX.so`` links matter when linking.
    """
    sonames: list[str] = []
    for e in entries:
        if is_cuda_library(e.soname) and not e.soname.endswith(".so") and e.soname not in sonames:
            sonames.append(e.soname)
    for d in ld_dirs:
        for f in scan_dir(root, d):
            if f.soname and f.name == f.soname and is_cuda_library(f.name) and f.name not in sonames:
                sonames.append(f.name)
    return sonames


def _search_order(root: Path, so: str, entries: list[CacheEntry], ld_dirs: list[str]) -> list[tuple[str, str, str]]:
    """Where the loader looks for ``so``, in order: (source, in-tree path, resolved file), one per distinct file."""
    order: list[tuple[str, str, str]] = []
    for d in ld_dirs:
        r = resolve_in_root(root, f"{d}/{so}")
        if r:
            order.append(("LD_LIBRARY_PATH", f"{d}/{so}", r))
    for e in entries:
        if e.soname == so:
            r = resolve_in_root(root, e.path)
            if r:
                order.append(("ld.so.cache", e.path, r))
    distinct: list[tuple[str, str, str]] = []
    for o in order:
        if o[2] not in [x[2] for x in distinct]:
            distinct.append(o)
    return distinct


def fact_lines(rep: Report) -> list[tuple[str, str]]:
    """The report's facts as label/value lines for the text output."""
    f = rep.facts
    out: list[tuple[str, str]] = []
    if f.get("python"):
        out.append(("python", f["python"]))
    tf = f.get("torch")
    if tf:
        out.append(("torch", f"{tf['version']} ({tf['location'] or 'location unknown'})"))
        out.append(("torch CUDA build", tf["cuda"] or "none (CPU-only build)"))
        out.append(("torch cuDNN", str(tf["cudnn"]) if tf["cudnn"] else "none loaded"))
        out.append(("cuda.is_available()", str(tf["available"])))
    elif f.get("root") == "/":
        out.append(("torch", "not importable"))
    d = f.get("driver", {})
    if d.get("version"):
        out.append(("NVIDIA driver", f"{d['version']} via {d['source']}"))
        if d.get("cuda"):
            out.append(("driver's CUDA", f"{d['cuda']} ({d['cuda_note']})"))
        if d.get("gpus"):
            out.append(("GPUs (nvidia-smi)", ", ".join(d["gpus"])))
    else:
        out.append(("NVIDIA driver", "not found" + (f" ({d['failed']})" if d.get("failed") else "")))
    g = f.get("gpu")
    if g and g.get("usable") is not None:
        out.append(("GPU", ("usable: " if g["usable"] else "none usable, because ") + g["why"]))
    if f.get("loaded_libraries"):
        out.append(("loaded CUDA libs", ", ".join(f["loaded_libraries"])))
    lk = f.get("linker", {})
    out.append(("linker view", f"{lk.get('source', '?')}, {len(lk.get('cuda_entries', []))} CUDA entries"))
    for ld in f.get("library_dirs", []):
        out.append(("CUDA libraries in", f"{ld['dir']} ({len(ld['files'])} files)"))
    return out


def load_torch_facts(path: str | os.PathLike[str] | None = None, *, text: str | None = None) -> TorchFacts:
    """Read a ``TorchFacts`` JSON file (as written by ``json.dumps(facts.to_json())``), or its ``text``."""
    if text is None:
        if path is None:
            raise TypeError("load_torch_facts needs a path or text")
        text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return TorchFacts.from_json(data)
