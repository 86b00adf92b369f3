"""Why ``import NAME`` fails, or which file it gets and why.

Python resolves ``import mypkg.models`` by walking ``sys.path`` in order
(``importlib.machinery.PathFinder``): the first folder holding ``mypkg/__init__.py``
or ``mypkg.py`` wins; folders holding only a ``mypkg/`` directory without
``__init__.py`` are collected as portions of a *namespace package* (PEP 420),
which is used only if no regular package or module is found anywhere.
``sys.path[0]`` is the folder of the script being run (``python scripts/train.py``
-> ``scripts/``), or the current folder for ``python -m`` and ``python -c``;
then come ``PYTHONPATH``, the standard library and site-packages.

The doctor runs a probe in a fresh interpreter (the one given, by default
this one) that rebuilds that ``sys.path`` for the invocation being diagnosed,
imports the module (running its code, as the real import would), and
reports where each candidate lives. The parent process then classifies the
outcome. Nothing is written.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dlfaq.doctor.findings import Finding, Report, Severity, cmd

#: Import names whose pip distribution has another name.
DIST_NAMES = {
    "cv2": "opencv-python", "sklearn": "scikit-learn", "PIL": "Pillow", "yaml": "PyYAML",
    "skimage": "scikit-image", "bs4": "beautifulsoup4", "google.protobuf": "protobuf",
    "dateutil": "python-dateutil", "Crypto": "pycryptodome", "attr": "attrs",
}
_MARK = "\n@@dlfaq-probe@@"
_SKIP_DIRS = {".git", ".venv", "venv", "env", "node_modules", "__pycache__", "site-packages", ".tox", "build", "dist"}

# The probe imports what it needs before the diagnosed sys.path[0] is in place, so a
# project's own json.py or importlib/ cannot break the probe itself.
_PROBE = r'''
import sys
_argv = sys.argv[1:]
_saved = list(sys.path)
sys.path[:] = [p for p in sys.path if p not in ("", ".")]
import importlib, importlib.machinery, importlib.util, json, os, sysconfig, traceback
sys.path[:] = _saved
name, first = _argv[0], _argv[1]
if sys.path and sys.path[0] in ("", "."):
    sys.path[0] = first
else:
    sys.path.insert(0, first)
top = name.split(".")[0]

def where(entry):
    try:
        spec = importlib.machinery.PathFinder.find_spec(top, [entry])
    except Exception:
        return None
    if spec is None:
        return None
    ns = spec.origin in (None, "namespace")
    return {"entry": entry, "origin": None if ns else spec.origin, "namespace": ns,
            "locations": list(spec.submodule_search_locations or [])}

cands = [c for c in (where(e) for e in sys.path) if c]
out = {"executable": sys.executable, "version": sys.version.split()[0], "sys_path": list(sys.path),
       "candidates": cands, "builtin": top in sys.builtin_module_names,
       "stdlib": sysconfig.get_paths().get("stdlib")}
try:
    mod = importlib.import_module(name)
    out["ok"] = True
    out["file"] = getattr(mod, "__file__", None)
    out["path"] = list(getattr(mod, "__path__", []) or [])
    topmod = sys.modules.get(top)
    out["top_file"] = getattr(topmod, "__file__", None)
    out["top_path"] = list(getattr(topmod, "__path__", []) or [])
except BaseException as exc:
    out["ok"] = False
    out["error"] = {"type": type(exc).__name__, "message": str(exc), "name": getattr(exc, "name", None)}
    if isinstance(exc, SyntaxError):
        out["error"].update(file=exc.filename, line=exc.lineno, offset=exc.offset,
                            text=(exc.text or "").rstrip("\n"))
    frames = traceback.extract_tb(exc.__traceback__)
    out["frames"] = [{"file": f.filename, "line": f.lineno, "code": f.line or ""} for f in frames
                     if "importlib" not in f.filename and not f.filename.startswith("<")]
    topmod = sys.modules.get(top)
    out["top_file"] = getattr(topmod, "__file__", None)
    out["top_path"] = list(getattr(topmod, "__path__", []) or [])
sys.stdout.flush()
sys.stdout.write("\n@@dlfaq-probe@@" + json.dumps(out))
'''


@dataclass(frozen=True)
class Invocation:
    """How the code doing the import is run: ``[ENV...] PYTHON SCRIPT`` or ``PYTHON -m MODULE`` in ``cwd``."""

    cwd: Path
    python: str = sys.executable
    script: Path | None = None
    module: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def path0(self) -> str:
        """What Python puts first on ``sys.path`` for this invocation."""
        if self.script is not None:
            return str(Path(self.cwd, self.script).resolve().parent)
        return str(Path(self.cwd).resolve())

    def command(self) -> str:
        pre = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        tail = [self.python] + (["-m", self.module] if self.module else [str(self.script)] if self.script else [])
        return f"cd {shlex.quote(str(self.cwd))} && " + (pre + " " if pre else "") + shlex.join(tail)


def parse_invocation(line: str, base: Invocation) -> Invocation | None:
    """Turn a printed command (``cd D && PYTHONPATH=X python -m m`` / ``python s.py``) into an Invocation.

    Returns None when the line is not a way of running Python (for example ``touch``).
    """
    inv = base
    for part in (p.strip() for p in line.split("&&")):
        toks = shlex.split(part)
        if not toks:
            continue
        if toks[0] == "cd" and len(toks) == 2:
            inv = replace(inv, cwd=Path(toks[1]))
            continue
        if toks[0] == "export":
            env = dict(inv.env)
            for t in toks[1:]:
                k, _, v = t.partition("=")
                env[k] = v
            inv = replace(inv, env=env)
            continue
        env = dict(inv.env)
        while toks and re.match(r"^[A-Za-z_]\w*=", toks[0]):
            k, _, v = toks.pop(0).partition("=")
            env[k] = v
        if not toks or "python" not in os.path.basename(toks[0]):
            return None
        if toks[1:3] and toks[1] == "-m" and toks[2] != "pip":
            return replace(inv, python=toks[0], module=toks[2], script=None, env=env)
        if len(toks) >= 2 and toks[1].endswith(".py"):
            return replace(inv, python=toks[0], script=Path(toks[1]), module=None, env=env)
        return None
    return inv


def probe(name: str, inv: Invocation, timeout: float = 60.0) -> dict[str, Any]:
    """Run the probe for ``import name`` under ``inv``; the parsed JSON (``{"crashed": ...}`` if it died)."""
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    env.update(inv.env)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # the probe imports the user's code: leave no __pycache__ behind
    try:
        p = subprocess.run(
            [inv.python, "-B", "-c", _PROBE, name, inv.path0], cwd=str(inv.cwd), env=env,
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"crashed": f"{type(exc).__name__}: {exc}"}
    if _MARK.strip() not in p.stdout:
        return {"crashed": (p.stderr or p.stdout)[-2000:]}
    return json.loads(p.stdout.rsplit(_MARK.strip(), 1)[1])


def _within(path: str | None, folder: Path) -> bool:
    if not path:
        return False
    try:
        Path(path).resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def find_in_project(project: Path, top: str, max_depth: int = 4) -> list[Path]:
    """Folders under ``project`` that contain ``top/`` or ``top.py`` (what would need to be on sys.path)."""
    hits: list[Path] = []
    project = project.resolve()
    for dirpath, dirnames, filenames in os.walk(project):
        depth = len(Path(dirpath).relative_to(project).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        if depth > max_depth:
            dirnames[:] = []
            continue
        if f"{top}.py" in filenames or (top in dirnames and any(
            f.endswith(".py") for f in os.listdir(Path(dirpath, top))
        )):
            hits.append(Path(dirpath))
    return hits


def _packaging_root(start: Path, stop: Path) -> Path | None:
    """The nearest folder from ``start`` up to ``stop`` with pyproject.toml / setup.py / setup.cfg."""
    cur = start.resolve()
    stop = stop.resolve()
    while True:
        if any((cur / f).is_file() for f in ("pyproject.toml", "setup.py", "setup.cfg")):
            return cur
        if cur == stop or cur.parent == cur:
            return None
        cur = cur.parent


def other_pythons(project: Path, this: str) -> list[str]:
    """Other interpreters a user may have meant: project venvs, $VIRTUAL_ENV, pythons on PATH."""
    cands = [str(project / d / "bin" / "python") for d in (".venv", "venv", "env")]
    if os.environ.get("VIRTUAL_ENV"):
        cands.append(os.path.join(os.environ["VIRTUAL_ENV"], "bin", "python"))
    for n in ["python3", "python"] + [f"python3.{m}" for m in range(8, 15)]:
        w = shutil.which(n)
        if w:
            cands.append(w)
    # A venv's python is often a link to the same binary as another venv's, so
    # interpreters are told apart by their environment folder, not by the binary.
    def env_of(p: str) -> str:
        return str(Path(os.path.abspath(p)).parent.parent)

    out: list[str] = []
    seen = {env_of(this)}
    for c in cands:
        if os.access(c, os.X_OK) and env_of(c) not in seen:
            seen.add(env_of(c))
            out.append(c)
    return out


def _where_elsewhere(python: str, top: str) -> str | None:
    code = "import importlib.util,sys;s=importlib.util.find_spec(sys.argv[1]);print(s and (s.origin or list(s.submodule_search_locations)[0]) or '')"
    try:
        p = subprocess.run([python, "-I", "-B", "-c", code, top], capture_output=True, text=True, timeout=20, cwd="/",
                           check=False, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = p.stdout.strip()
    return found or None


def _loc(fr: Mapping[str, Any]) -> str:
    return f"{fr['file']}:{fr['line']}"


def _dist_name(top: str) -> str:
    """The pip distribution that provides the import name ``top`` (``cv2`` -> ``opencv-python``)."""
    return DIST_NAMES.get(top, top)


def _pip_install(inv: Invocation, dist: str) -> str:
    """Install ``dist`` for the interpreter that runs the code (``python -m pip``, not whichever ``pip``)."""
    return cmd(inv.python, "-m", "pip", "install", dist)


def _install_finding(code: str, title: str, detail: str, inv: Invocation, dist: str, **more: Any) -> Finding:
    """An error whose fix is installing ``dist`` for the invocation's interpreter."""
    return Finding(code, Severity.ERROR, title, detail, fix=(_pip_install(inv, dist),), **more)


def diagnose_import(
    name: str,
    project: str | os.PathLike[str] | None = None,
    *,
    script: str | os.PathLike[str] | None = None,
    module: str | None = None,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
    check_other_pythons: bool = True,
    invocation: Invocation | None = None,
) -> Report:
    """Explain ``import name`` as run from ``project`` (default: the current folder).

    ``script`` (path relative to ``project``) diagnoses the import as done by
    ``python SCRIPT``; ``module`` as ``python -m MODULE``; neither, as
    ``python -c 'import name'`` from ``project``.
    """
    proj = Path(project or os.getcwd()).resolve()
    inv = invocation or Invocation(
        cwd=proj, python=python, script=Path(script) if script else None, module=module, env=dict(env or {})
    )
    rep = Report(kind="import")
    res = probe(name, inv)
    rep.facts.update(name=name, project=str(proj), invocation=inv.command(), probe=res)
    top = name.split(".")[0]
    if "crashed" in res:
        rep.add(Finding("probe-failed", Severity.ERROR, f"could not run {inv.python}", res["crashed"]))
        return rep
    if res["ok"]:
        _explain_success(rep, name, top, res, proj, inv)
    else:
        _explain_failure(rep, name, top, res, proj, inv, check_other_pythons)
    return rep


def _explain_success(rep: Report, name: str, top: str, res: dict[str, Any], proj: Path, inv: Invocation) -> None:
    got = res.get("top_file") or (res.get("top_path") or [None])[0]
    cands = res["candidates"]
    first = cands[0] if cands else None
    rep.facts["resolved"] = res.get("file") or res.get("path")
    if _check_shadow(rep, top, res, proj, inv):
        return
    if not res.get("top_file") and res.get("top_path"):
        rep.add(
            Finding(
                "namespace-package",
                Severity.INFO,
                f"{top} is a namespace package (no __init__.py), spread over {len(res['top_path'])} folder(s)",
                "\n".join(res["top_path"]) + "\nIt imports, but setuptools' find_packages() skips it and any regular\n"
                f"package named {top} elsewhere on sys.path would take precedence. Add __init__.py unless\n"
                "you mean to split the package across folders.",
            )
        )
    entry = next((c["entry"] for c in cands if _within(got, Path(c["entry"]))), first["entry"] if first else "?")
    rep.add(
        Finding(
            "resolves",
            Severity.INFO,
            f"`import {name}` resolves to {res.get('file') or res.get('path')}",
            f"found through sys.path entry {entry}"
            + (" (the script's folder)" if entry == inv.path0 and inv.script else ""),
        )
    )


def _check_shadow(rep: Report, top: str, res: dict[str, Any], proj: Path, inv: Invocation) -> bool:
    """A local file/folder that comes first on sys.path and hides a library of the same name."""
    cands = res["candidates"]
    first = cands[0] if cands else None
    if first is None or first["namespace"]:
        return False
    local = _within(first["origin"], proj) or _within(first["origin"], Path(inv.path0))
    stdlib = res.get("stdlib") or ""
    # Only a hidden *library* (standard library or installed package) counts: a second
    # copy of one's own code elsewhere on PYTHONPATH is a different question.
    others = [
        c for c in cands[1:]
        if not c["namespace"] and not _within(c["origin"], proj)
        and (_within(c["origin"], Path(stdlib)) or {"site-packages", "dist-packages"} & set(Path(c["origin"]).parts))
    ]
    if not local or not (others or res["builtin"]):
        return False
    origin = Path(first["origin"])
    what = origin.parent if origin.name == "__init__.py" else origin
    real = others[0]["origin"] if others else "(built into Python)"
    kind = "the standard library's" if others and _within(real, Path(stdlib)) else "the installed"
    new = what.with_name(what.stem + "_local" + what.suffix)
    rep.add(
        Finding(
            "shadowed-by-local",
            Severity.ERROR,
            f"`import {top}` gets your {what}, not {kind} {top}",
            f"{what} comes first on sys.path (entry {first['entry']}), so it hides {real}.\n"
            f"Code expecting the real {top} then fails with AttributeError or ImportError.",
            fix=(cmd("mv", str(what), str(new)),),
            fix_note="Rename your file or folder (and delete a stale __pycache__ next to it), or run from another folder.",
            data={"local": str(what), "real": real},
        )
    )
    return True


def _fixes_for_path(name: str, top: str, home: Path, proj: Path, inv: Invocation) -> tuple[list[str], str]:
    fixes: list[str] = []
    pkg_root = _packaging_root(home, proj)
    if pkg_root is not None:
        fixes.append(cmd(inv.python, "-m", "pip", "install", "-e", str(pkg_root)))
    if inv.script is not None:
        script = Path(inv.cwd, inv.script).resolve()
        try:
            rel = script.with_suffix("").relative_to(home)
            if all(p.isidentifier() for p in rel.parts):
                fixes.append(f"cd {shlex.quote(str(home))} && " + cmd(inv.python, "-m", ".".join(rel.parts)))
        except ValueError:
            pass
        fixes.append(f"PYTHONPATH={shlex.quote(str(home))} " + cmd(inv.python, str(script)))
    else:
        fixes.append(f"PYTHONPATH={shlex.quote(str(home))} " + cmd(inv.python, "-c", f"import {name}"))
    note = (
        ("" if pkg_root else f"Best fix: add a pyproject.toml to {home.parent if home.name == 'src' else home} "
         "and `pip install -e` it. ")
        + f"sys.path.append (the FAQ's answer) works only if it appends {home} (the folder that CONTAINS "
        f"{top}, not {top} itself), before the import; computing it from __file__ "
        "(Path(__file__).resolve().parents[N]) survives moving the project. It is acceptable in a one-off "
        "script or notebook; in shared code it hides the layout from tools (pytest, IDEs, type checkers) and, "
        f"appended last, loses to any installed package named {top}."
    )
    return fixes, note


def _explain_failure(
    rep: Report, name: str, top: str, res: dict[str, Any], proj: Path, inv: Invocation, check_other: bool
) -> None:
    """Why ``import name`` failed: a local file hiding a library, broken code, a cycle, a module not
    found (the FAQ's case), or an error raised while the found module ran."""
    err = res["error"]
    user_frames = [f for f in res.get("frames", []) if _within(f["file"], proj) or _within(f["file"], Path(inv.path0))]
    if _check_shadow(rep, top, res, proj, inv):
        return
    if err["type"] in ("SyntaxError", "IndentationError", "TabError"):
        rep.add(_syntax_finding(name, err, res, proj))
    elif "partially initialized module" in err["message"] or "circular import" in err["message"]:
        rep.add(_circular_finding(name, err, user_frames))
    elif _requested_module_missing(name, err, res, user_frames):
        _explain_not_found(rep, name, top, err["name"], res, proj, inv, check_other)
    else:
        rep.add(_raised_finding(name, err, res, user_frames, inv))


def _import_lines(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["code"].lstrip().startswith(("import ", "from "))]


def _syntax_finding(name: str, err: dict[str, Any], res: dict[str, Any], proj: Path) -> Finding:
    where = f"{err.get('file')}:{err.get('line')}"
    return Finding(
        "syntax-error",
        Severity.ERROR,
        f"`import {name}` fails: {err['type']} in {where}",
        f"{err.get('text') or ''}\n{' ' * max((err.get('offset') or 1) - 1, 0)}^\n{err['message']}"
        + ("" if _within(err.get("file"), proj) else
           f"\nThe file is not yours: this package may need a newer Python than {res['version']}."),
        fix_note=f"Fix the code at {where}.",
        data={"file": err.get("file"), "line": err.get("line")},
    )


def _circular_finding(name: str, err: dict[str, Any], user_frames: list[dict[str, Any]]) -> Finding:
    chain = _import_lines(user_frames)
    return Finding(
        "circular-import",
        Severity.ERROR,
        f"`import {name}` fails: circular import",
        err["message"] + "\nImport chain:\n" + "\n".join(f"  {_loc(f)}: {f['code'].strip()}" for f in chain),
        fix_note="Break the cycle: import the module instead of a name from it (`import b`, then "
        "`b.g()`), move the import into the function that needs it, or move the shared code into "
        "a third module that both import.",
        data={"chain": [_loc(f) for f in chain]},
    )


def _requested_module_missing(name: str, err: dict[str, Any], res: dict[str, Any],
                              user_frames: list[dict[str, Any]]) -> bool:
    """ModuleNotFoundError for ``name`` or a parent of it, not for something its code imports."""
    missing = err.get("name") if err["type"] == "ModuleNotFoundError" else None
    requested = [".".join(name.split(".")[: i + 1]) for i in range(len(name.split(".")))]
    if not missing or missing not in requested:
        return False
    # The name may also be missing because a module's own code imported it (a frame of the
    # traceback imports it): then it is a dependency of that code, not what was asked for.
    return not (_import_lines(user_frames) and missing != name and _raised_inside(res, missing))


def _explain_not_found(rep: Report, name: str, top: str, missing: str, res: dict[str, Any], proj: Path,
                       inv: Invocation, check_other: bool) -> None:
    """Python found no module ``missing``: a submodule missing, a folder not on sys.path, another
    interpreter's package, or not installed at all."""
    if missing != top:
        _explain_missing_submodule(rep, name, top, missing, res, proj, inv)
        return
    homes = [h for h in find_in_project(proj, top) if str(h) not in res["sys_path"]]
    if homes:
        rep.add(_not_on_path_finding(name, top, homes[0], res, proj, inv))
        return
    pythons = other_pythons(proj, inv.python) if check_other else []
    elsewhere = next(((py, w) for py in pythons if (w := _where_elsewhere(py, top))), None)
    dist = _dist_name(top)
    if elsewhere:
        rep.add(_elsewhere_finding(top, dist, *elsewhere, inv))
        return
    rep.add(
        _install_finding(
            "not-installed",
            f"no module named {top} for {inv.python}",
            f"Not on sys.path, not in {proj}, not in any other Python found on PATH."
            + (f"\nThe pip package is called {dist}." if dist != top else ""),
            inv,
            dist,
        )
    )


def _not_on_path_finding(name: str, top: str, home: Path, res: dict[str, Any], proj: Path, inv: Invocation) -> Finding:
    fixes, note = _fixes_for_path(name, top, home, proj, inv)
    return Finding(
        "not-on-sys-path",
        Severity.ERROR,
        f"{top} is in {home}, which is not on sys.path",
        f"sys.path[0] is {res['sys_path'][0]}"
        + (" (the script's folder: Python adds the folder of the script, not the folder you run it from)"
           if inv.script else "")
        + f".\n{home} holds {top} but is not searched.",
        fix=tuple(fixes),
        alternatives=True,
        fix_note=note,
        data={"home": str(home)},
    )


def _elsewhere_finding(top: str, dist: str, py: str, where: str, inv: Invocation) -> Finding:
    fixes = [f"cd {shlex.quote(str(inv.cwd))} && " + cmd(py, str(inv.script))] if inv.script is not None else []
    fixes.append(_pip_install(inv, dist))
    return Finding(
        "installed-elsewhere",
        Severity.ERROR,
        f"{top} is installed for {py}, not for {inv.python}",
        f"{py} has it at {where}.\nEach interpreter/venv has its own site-packages; "
        "`pip` may belong to a different Python than `python` (use `python -m pip`).",
        fix=tuple(fixes),
        alternatives=True,
        fix_note="Run with the interpreter that has it (or activate its venv), or install it for this one.",
        data={"python": py, "where": where},
    )


def _raised_finding(name: str, err: dict[str, Any], res: dict[str, Any], user_frames: list[dict[str, Any]],
                    inv: Invocation) -> Finding:
    """The module was found; running it raised (a missing dependency, or any other error)."""
    frames = res.get("frames", [])
    where = user_frames[-1] if user_frames else (frames[-1] if frames else None)
    loc = _loc(where) if where else "?"
    code = where["code"].strip() if where else ""
    missing = err.get("name") if err["type"] == "ModuleNotFoundError" else None
    if missing:
        return _install_finding(
            "dependency-missing",
            f"`import {name}` fails because {loc} imports {missing}, which is missing",
            f"{code}\nThe module {name} itself was found; one of its imports was not.",
            inv,
            _dist_name(missing.split(".")[0]),
            fix_note=f"If {missing} is your own code, run `dlfaq doctor import {missing}` to see why it is not found.",
            data={"missing": missing, "at": loc},
        )
    return Finding(
        "import-raised",
        Severity.ERROR,
        f"`import {name}` fails: {err['type']} raised at {loc}",
        f"{code}\n{err['type']}: {err['message']}",
        fix_note=f"The module was found; the error is in the code at {loc}.",
        data={"type": err["type"], "at": loc},
    )


def _raised_inside(res: dict[str, Any], missing: str) -> bool:
    """True when a frame of the traceback is module code importing ``missing`` (a dependency of it)."""
    return any(re.search(rf"\b(import|from)\s+{re.escape(missing)}\b", f["code"]) for f in res.get("frames", []))


def _explain_missing_submodule(
    rep: Report, name: str, top: str, missing: str, res: dict[str, Any], proj: Path, inv: Invocation
) -> None:
    got = res.get("top_file") or (res.get("top_path") or ["?"])[0]
    local = [c for c in res["candidates"] if c["namespace"] and any(_within(loc, proj) for loc in c["locations"])]
    sub = missing[len(top) + 1 :].split(".")[0]
    if res.get("top_file") and local:
        folder = Path(next(loc for loc in local[0]["locations"] if _within(loc, proj)))
        rep.add(
            Finding(
                "namespace-shadowed",
                Severity.ERROR,
                f"your {folder} has no __init__.py, so the regular package {got} wins",
                f"A folder without __init__.py is only a namespace-package portion; a regular package of the\n"
                f"same name anywhere on sys.path takes precedence, and it has no {sub}.",
                fix=(cmd("touch", str(folder / "__init__.py")),),
                fix_note="Or rename your folder so it does not clash with the installed package.",
                data={"folder": str(folder), "winner": got},
            )
        )
        return
    rep.add(
        Finding(
            "submodule-missing",
            Severity.ERROR,
            f"{top} was found at {got}, but it has no {sub}",
            "Searched: " + ", ".join(res.get("top_path") or [str(got)]),
        )
    )
