"""Apply the doctor's printed fix commands inside a throw-away case folder, never on the system.

A *case* is a folder made by :mod:`dlfaq.doctor.fixtures`: ``root/`` (a fake
filesystem tree) plus the captured inputs the doctor reads instead of running
things (``ldconfig-p.txt``, ``nvidia-smi.txt``, ``torch.json``, ``env.json``,
``maps.txt``) and a marker file ``.dlfaq-sandbox``.

:meth:`Sandbox.apply` takes one printed command line, parses it with
``shlex`` (no shell), drops ``sudo`` and interprets a small set of commands,
each confined to the case folder:

* ``ln -s[f]``, ``rm``, ``mv``, ``touch``, ``echo TEXT | tee [-a] FILE`` act
  on files; every path must lie inside the case folder, and an absolute link
  target inside ``root/`` is stored as the tree-absolute path it would be on
  the real system.
* ``ldconfig -r ROOT [DIR ...]`` must name the case's root. When this process
  is root and ``ldconfig`` exists it runs the real ``ldconfig -r`` (which
  chroots into the tree) and captures ``ldconfig -C ROOT/etc/ld.so.cache -p``;
  otherwise :func:`~dlfaq.doctor.linker.simulate_ldconfig` does the same work
  in Python. Either way the captured ``ldconfig-p.txt`` is rewritten.
* ``export NAME=VALUE`` / ``unset NAME`` edit ``env.json``; ``LD_PRELOAD``
  entries are mapped into the "process" (``maps.txt`` plus the preloaded
  files), which is what the loader does with them; a changed
  ``CUDA_VISIBLE_DEVICES`` makes ``torch.json`` list the GPUs of
  ``nvidia-smi.txt`` that the variable leaves visible (a model of a restarted process).
* ``python -m pip install ... torch --index-url .../cuXYZ`` is a *model* of
  reinstalling torch: ``torch.json`` gets CUDA X.Y, and ``available`` follows
  CUDA's rule that a runtime needs a driver of at least its major version.
  No real GPU is involved; this checks that the printed tag is one the driver
  can serve.

Anything else raises :class:`SandboxError`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import site
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from dlfaq.doctor.cuda import TorchFacts, diagnose_cuda, parse_nvidia_smi, visible_devices_hide_all
from dlfaq.doctor.findings import Report
from dlfaq.doctor.imports import parse_invocation
from dlfaq.doctor.linker import (
    CacheEntry,
    format_ldconfig_p,
    in_root,
    parse_ldconfig_p,
    simulate_ldconfig,
)

MARKER = ".dlfaq-sandbox"
_VAR = re.compile(r"\$(\w+)|\$\{(\w+)\}")


class SandboxError(RuntimeError):
    """A command the sandbox refuses or cannot confine."""


def real_ldconfig_usable() -> str | None:
    """Path of ``ldconfig`` when this process may run ``ldconfig -r`` (needs root), else None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    for cand in (shutil.which("ldconfig"), "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


class Sandbox:
    """A case folder and the commands applied to it so far."""

    def __init__(self, case: str | os.PathLike[str], *, real_ldconfig: bool | None = None) -> None:
        self.case = Path(case).resolve()
        if not (self.case / MARKER).is_file():
            raise SandboxError(f"{self.case} is not a sandbox case (no {MARKER})")
        self.root = self.case / "root"
        if self.root.resolve() == Path("/"):
            raise SandboxError("refusing a case whose root is /")
        self.ldconfig = real_ldconfig_usable() if real_ldconfig in (None, True) else None
        if real_ldconfig and self.ldconfig is None:
            raise SandboxError("real ldconfig -r needs root privileges")
        self.log: list[str] = []

    # ---- inputs of the doctor
    def _read(self, name: str) -> str | None:
        p = self.case / name
        return p.read_text(encoding="utf-8") if p.is_file() else None

    @property
    def env(self) -> dict[str, str]:
        return json.loads(self._read("env.json") or "{}")

    def _write_env(self, env: dict[str, str]) -> None:
        (self.case / "env.json").write_text(json.dumps(env, indent=1, sort_keys=True), encoding="utf-8")

    def torch_facts(self) -> TorchFacts | None:
        t = self._read("torch.json")
        return TorchFacts.from_json(json.loads(t)) if t else None

    def maps_text(self) -> str | None:
        base = self._read("maps.txt")
        pre = [p for p in re.split(r"[:\s]+", self.env.get("LD_PRELOAD", "")) if p]
        if base is None and not pre:
            return None
        lines = (base or "").splitlines()
        lines += [f"7f0000000000-7f0000001000 r--p 00000000 00:00 0    {p}" for p in pre]
        return "\n".join(lines) + "\n"

    def cache_entries(self) -> list[CacheEntry]:
        """The case's linker cache as ``ldconfig -p`` last printed it (captured, or rebuilt by ``ldconfig -r``)."""
        return parse_ldconfig_p(self._read("ldconfig-p.txt") or "")

    def diagnose(self) -> Report:
        """Run the doctor on the case as it is now."""
        return diagnose_cuda(
            self.root,
            ldconfig_output=self._read("ldconfig-p.txt"),
            nvidia_smi_output=self._read("nvidia-smi.txt"),
            env=self.env,
            torch_facts=self.torch_facts(),
            maps_text=self.maps_text(),
            examine_process=False,
        )

    # ---- applying commands
    def _inside(self, p: str) -> Path:
        path = Path(p)
        if not path.is_absolute():
            raise SandboxError(f"relative path {p!r}: the printed fixes use absolute paths")
        parent = path.parent.resolve()
        if parent != self.case and self.case not in parent.parents:
            raise SandboxError(f"{p} is outside the case folder {self.case}")
        return parent / path.name

    def _expand(self, s: str) -> str:
        env = self.env
        return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), s)

    def apply(self, line: str) -> str:
        """Apply one printed command line; return what was done."""
        stages = [shlex.split(part) for part in _split_pipe(line)]
        stages = [s[1:] if s and s[0] == "sudo" else s for s in stages]
        if not stages or not stages[0]:
            raise SandboxError(f"empty command: {line!r}")
        if len(stages) == 2 and stages[0][0] == "echo" and stages[1][0] == "tee":
            return self._done(line, self._tee(" ".join(stages[0][1:]) + "\n", stages[1][1:]))
        if len(stages) != 1:
            raise SandboxError(f"unsupported pipeline: {line!r}")
        prog, args = os.path.basename(stages[0][0]), stages[0][1:]
        if "python" in prog and args[:3] == ["-m", "pip", "install"] and "torch" in args:
            return self._done(line, self._pip_torch(line, args))
        run = self._COMMANDS.get(prog)
        if run is None:
            raise SandboxError(f"the sandbox does not run {prog!r}: {line!r}")
        return self._done(line, run(self, line, prog, args))

    def _done(self, line: str, what: str) -> str:
        self.log.append(line)
        return what

    # ---- one method per command: (line, program, arguments) -> what was done
    def _tee(self, text: str, args: list[str]) -> str:
        """``echo TEXT | tee [-a] FILE...``."""
        mode = "a" if "-a" in args else "w"
        files = [a for a in args if not a.startswith("-")]
        for f in files:
            p = self._inside(f)
            p.parent.mkdir(parents=True, exist_ok=True)
            with open(p, mode, encoding="utf-8") as fh:
                fh.write(text)
        return f"wrote {text.strip()!r} to {', '.join(files)}"

    def _ln(self, line: str, prog: str, args: list[str]) -> str:
        """``ln -s[f] TARGET LINK``; an absolute target inside ``root/`` is stored tree-absolute."""
        opts = [a for a in args if a.startswith("-")]
        pos = [a for a in args if not a.startswith("-")]
        if len(pos) != 2 or not any("s" in o for o in opts):
            raise SandboxError(f"only `ln -s[f] TARGET LINK` is supported: {line!r}")
        target, link = pos
        dest = self._inside(link)
        if target.startswith("/"):
            tp = Path(target)
            if self.root not in tp.parents:
                raise SandboxError(f"link target {target} is outside the case root")
            target = "/" + str(tp.relative_to(self.root))
        if dest.is_symlink() or dest.exists():
            if "f" not in "".join(opts):
                raise SandboxError(f"{link} exists (ln without -f)")
            dest.unlink()
        os.symlink(target, dest)
        return f"linked {dest.name} -> {target}"

    def _rm(self, line: str, prog: str, args: list[str]) -> str:
        for a in (a for a in args if not a.startswith("-")):
            p = self._inside(a)
            if p.is_symlink() or p.is_file():
                p.unlink()
        return "removed"

    def _mv(self, line: str, prog: str, args: list[str]) -> str:
        pos = [a for a in args if not a.startswith("-")]
        if len(pos) != 2:
            raise SandboxError(f"only `mv SRC DEST`: {line!r}")
        self._inside(pos[0]).rename(self._inside(pos[1]))
        return "moved"

    def _touch(self, line: str, prog: str, args: list[str]) -> str:
        for a in args:
            self._inside(a).touch()
        return "touched"

    def _environment(self, line: str, prog: str, args: list[str]) -> str:
        """``export NAME=VALUE`` / ``unset NAME`` on ``env.json``."""
        env = self.env
        for a in args:
            name, _, value = a.partition("=")
            if prog == "export":
                env[name] = self._expand(value)
            else:
                env.pop(name, None)
        self._write_env(env)
        if any(a.partition("=")[0] == "CUDA_VISIBLE_DEVICES" for a in args):
            self._restart_torch(env)
        return "environment updated"

    def _restart_torch(self, env: dict[str, str]) -> None:
        """Model of a new process reading CUDA_VISIBLE_DEVICES: which GPUs torch then sees."""
        tf = self.torch_facts()
        if tf is None or tf.cuda is None:
            return
        gpus = parse_nvidia_smi(self._read("nvidia-smi.txt") or "").gpus
        ok = bool(gpus) and not visible_devices_hide_all(env.get("CUDA_VISIBLE_DEVICES"), len(gpus))
        data = tf.to_json()
        data.update(available=ok, device_count=len(gpus) if ok else 0, devices=list(gpus) if ok else [],
                    error="" if ok else "no CUDA device is visible")
        (self.case / "torch.json").write_text(json.dumps(data, indent=1), encoding="utf-8")

    def _ldconfig(self, line: str, prog: str, args: list[str]) -> str:
        """``ldconfig -r CASE_ROOT [DIR...]``: the real one when root, else the Python model."""
        if "-r" not in args:
            raise SandboxError("ldconfig needs -r CASE_ROOT in the sandbox")
        i = args.index("-r")
        if Path(args[i + 1]).resolve() != self.root.resolve():
            raise SandboxError(f"ldconfig -r must name {self.root}")
        dirs = [a for j, a in enumerate(args) if j not in (i, i + 1) and not a.startswith("-")]
        if self.ldconfig:
            subprocess.run([self.ldconfig, "-r", str(self.root), *dirs], capture_output=True, text=True,
                           timeout=60, check=False)
            out = subprocess.run([self.ldconfig, "-C", str(self.root / "etc/ld.so.cache"), "-p"],
                                 capture_output=True, text=True, timeout=60, check=False).stdout
            engine = "real ldconfig -r"
        else:
            res = simulate_ldconfig(self.root, dirs)
            for link, target in res.links:
                host = in_root(self.root, link)
                if host.is_symlink():
                    host.unlink()
                os.symlink(target, host)
            out = format_ldconfig_p(res.entries)
            engine = "simulated ldconfig"
        (self.case / "ldconfig-p.txt").write_text(out, encoding="utf-8")
        return f"cache rebuilt ({engine})"

    def _pip_torch(self, line: str, args: list[str]) -> str:
        """``python -m pip install ... torch --index-url .../cuXYZ``: a model of the reinstall."""
        url = args[args.index("--index-url") + 1] if "--index-url" in args else ""
        m = re.search(r"/cu(\d+)(\d)$", url.rstrip("/"))
        if not m:
            raise SandboxError(f"no cuXYZ index in {line!r}")
        cuda = f"{int(m.group(1))}.{m.group(2)}"
        tf = self.torch_facts()
        if tf is None:
            raise SandboxError("the case has no torch.json")
        smi = self._read("nvidia-smi.txt") or ""
        dm = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", smi)
        ok = dm is not None and int(dm.group(1)) >= int(m.group(1))
        data: dict[str, Any] = tf.to_json()
        data.update(
            version=tf.version.split("+")[0] + f"+cu{m.group(1)}{m.group(2)}",
            cuda=cuda,
            available=ok,
            device_count=1 if ok else 0,
            devices=["GPU 0"] if ok else [],
            error="" if ok else "driver too old (model)",
        )
        (self.case / "torch.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
        return f"torch reinstalled for CUDA {cuda} (model)"

    _COMMANDS: ClassVar[dict[str, Callable[[Sandbox, str, str, list[str]], str]]] = {
        "ln": _ln, "rm": _rm, "mv": _mv, "touch": _touch, "ldconfig": _ldconfig,
        "export": _environment, "unset": _environment,
    }

    def apply_all(self, report: Report) -> list[str]:
        """Apply every fix command of every problem in ``report``; return the commands applied."""
        done = []
        for c in report.fix_commands():
            self.apply(c)
            done.append(c)
        return done


def _split_pipe(line: str) -> list[str]:
    """Split on ``|`` outside quotes (shlex keeps quotes, so rejoin per stage)."""
    lex = shlex.shlex(line, posix=True, punctuation_chars="|")
    lex.whitespace_split = True
    stages: list[list[str]] = [[]]
    for tok in lex:
        if tok == "|":
            stages.append([])
        else:
            stages[-1].append(tok)
    return [shlex.join(s) for s in stages]


# --------------------------------------------------------------------------- import fixes


def editable_venv(project: str | os.PathLike[str], dest: str | os.PathLike[str], timeout: float = 300) -> str:
    """Create a venv at ``dest`` and ``pip install -e project`` into it, offline; return its python.

    The new venv gets a ``.pth`` pointing at this environment's site-packages so
    that pip and the build backend (setuptools) are available without a
    download; the editable install itself is pip's own. Raises
    :class:`SandboxError` when it fails (for example without setuptools >= 64).
    """
    dest = Path(dest)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True, timeout=timeout,
                   capture_output=True)
    py = dest / "bin" / "python"
    target = next(dest.glob("lib/python3*/site-packages"))
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (target / "_dlfaq_build_tools.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    p = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-e", str(project)],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if p.returncode != 0:
        raise SandboxError(f"pip install -e failed: {(p.stderr or p.stdout)[-500:]}")
    return str(py)


def apply_import_fix(line: str, case_dir: str | os.PathLike[str], inv: Any, *, allow_pip_editable: bool = True) -> Any:
    """Apply one printed fix of ``dlfaq doctor import`` inside an import case; return the new invocation.

    A way of running Python (``cd D && python -m m``, ``PYTHONPATH=D python s.py``,
    ``OTHER_PYTHON s.py``) changes the invocation; ``pip install -e DIR`` installs
    into a throw-away venv (:func:`editable_venv`) whose python is then used;
    ``touch``/``mv`` act on files inside the case. ``pip install NAME`` needs
    the network and raises :class:`SandboxError`.
    """
    toks = shlex.split(line)
    if "pip" in toks and "install" in toks:
        if "-e" not in toks or not allow_pip_editable:
            raise SandboxError(f"needs the network: {line!r}")
        project = toks[toks.index("-e") + 1]
        sb = Sandbox(case_dir)
        sb._inside(project + "/x")
        py = editable_venv(project, sb.case / ".fix-venv")
        return type(inv)(cwd=inv.cwd, python=py, script=inv.script, module=inv.module, env=dict(inv.env))
    new = parse_invocation(line, inv)
    if new is not None:
        return new
    Sandbox(case_dir).apply(line)
    return inv
