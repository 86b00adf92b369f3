"""``dlfaq doctor``: CUDA/cuDNN diagnosis; ``dlfaq doctor import NAME``: why an import fails.

Exit codes: 0 healthy, 1 a problem was found, 2 a usage error.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import typer

from dlfaq.commands._common import (
    JsonOpt,
    MiB,
    UserError,
    check_path,
    command_group,
    is_dir,
    print_json,
    read_user_file,
    short,
)

MAX_CAPTURE = 16 * MiB  # `ldconfig -p` of a big system is ~1 MiB; nvidia-smi and facts are a few KiB

MODULE_NAME = re.compile(r"[A-Za-z_]\w{0,254}(\.[A-Za-z_]\w{0,254})*")  # each part must fit in a file name

doctor_app = command_group(
    "doctor", "Diagnose CUDA/cuDNN set-ups (default) and Python import failures (`doctor import NAME`).",
    invoke_without_command=True, no_args_is_help=False,
)


def _read(path: Path | None, what: str) -> str | None:
    """A captured command output the user gave: a regular file, bounded (no FIFO, no /dev/zero)."""
    if path is None:
        return None
    return read_user_file(path, f"{what} file", MAX_CAPTURE)


@doctor_app.callback()
def cuda_cmd(
    ctx: typer.Context,
    root: str = typer.Option("/", "--root", help="Examine the filesystem tree at DIR instead of /."),
    ldconfig_output: Path | None = typer.Option(None, "--ldconfig-output",
                                                help="Captured `ldconfig -p` output to use."),
    nvidia_smi_output: Path | None = typer.Option(None, "--nvidia-smi-output",
                                                  help="Captured `nvidia-smi` output to use."),
    torch_facts: Path | None = typer.Option(None, "--torch-facts", hidden=True, help="TorchFacts JSON (for fixtures)."),
    as_json: bool = JsonOpt,
) -> None:
    """Report torch's CUDA/cuDNN, the driver, loaded libraries and the linker's view, with fixes."""
    if ctx.invoked_subcommand is not None:
        return
    from dlfaq.doctor.cuda import diagnose_cuda, fact_lines, load_torch_facts

    root_dir = check_path(root, "--root")  # a str option: typer would read "" as Path(".")
    if not is_dir(root_dir):
        raise UserError(f"--root {short(root_dir)!r} is not a folder")
    ldconfig_text = _read(ldconfig_output, "--ldconfig-output")
    smi_text = _read(nvidia_smi_output, "--nvidia-smi-output")
    tf = None
    if torch_facts is not None:
        text = _read(torch_facts, "--torch-facts")
        try:
            tf = load_torch_facts(text=text)
        except (ValueError, TypeError, RecursionError) as exc:
            raise UserError(f"--torch-facts {short(torch_facts)!r} is not a torch facts JSON: "
                            f"{short(exc, 120)}") from None
    rep = diagnose_cuda(root_dir.resolve(), ldconfig_output=ldconfig_text, nvidia_smi_output=smi_text, torch_facts=tf)
    if as_json:
        print_json(rep.to_json())
    else:
        print(rep.render(fact_lines(rep)))
    raise typer.Exit(rep.exit_code)


@doctor_app.command("import")
def import_cmd(
    name: str = typer.Argument(..., metavar="NAME", help="Module to import, e.g. mypkg or mypkg.models."),
    project: Path | None = typer.Option(None, "--project",
                                        help="Project folder to run from (default: the current one)."),
    script: Path | None = typer.Option(None, "--script",
                                       help="Diagnose as `python SCRIPT` (path inside the project)."),
    module: str | None = typer.Option(None, "--module", "-m", help="Diagnose as `python -m MODULE`."),
    python: str | None = typer.Option(None, "--python", help="Interpreter to diagnose (default: this one)."),
    as_json: bool = JsonOpt,
) -> None:
    """Explain why `import NAME` fails, or which file it resolves to and why.

    The probe imports NAME in a separate interpreter (so the module's top-level code runs)
    with PYTHONDONTWRITEBYTECODE=1 and -B: it writes nothing, not even __pycache__.
    """
    from dlfaq.doctor.imports import diagnose_import

    if not MODULE_NAME.fullmatch(name):
        raise UserError(f"not a module name: {short(name, 60)!r}")
    if script is not None and module is not None:
        raise UserError("give --script or --module, not both")
    if module is not None and not MODULE_NAME.fullmatch(module):
        raise UserError(f"--module: not a module name: {short(module, 60)!r}")
    proj = _project(project)
    if script is not None:
        _check_script(script, proj)
    py = sys.executable if python is None else _interpreter(python)
    rep = diagnose_import(name, proj, script=script, module=module, python=py)
    if as_json:
        print_json(rep.to_json())
    else:
        lines = [("import", name), ("run as", rep.facts["invocation"])]
        probe = rep.facts.get("probe", {})
        if "sys_path" in probe:
            lines.append(("python", f"{probe['executable']} ({probe['version']})"))
            lines.append(("sys.path", "\n".ljust(11).join(probe["sys_path"][:6])))
        print(rep.render(lines))
    raise typer.Exit(rep.exit_code)


def _project(project: Path | None) -> Path:
    """``--project``, resolved: a folder (default: the current one)."""
    if project is not None:
        check_path(project, "--project")
    proj = (project or Path.cwd()).resolve()
    if not is_dir(proj):
        raise UserError(f"--project {short(project)!r} is not a folder")
    return proj


def _check_script(script: Path, proj: Path) -> None:
    """``--script``: a file inside the project; resolved, so `..` and links cannot climb out of it."""
    check_path(script, "--script")
    target = (proj / script).resolve()
    if not target.is_relative_to(proj) or not target.is_file():
        raise UserError(f"--script {short(script)!r} is not a file under {short(proj)}")


def _interpreter(python: str) -> str:
    """``--python``: a name on PATH or a path, of a file this user may run."""
    check_path(python, "--python")
    py = shutil.which(python) or python
    if not Path(py).is_file() or not os.access(py, os.X_OK):
        raise UserError(f"--python {short(python, 60)!r} is not an interpreter that can be run")
    return py


def register(app: typer.Typer) -> None:
    app.add_typer(doctor_app, name="doctor")
