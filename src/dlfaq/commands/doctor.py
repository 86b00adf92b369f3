"""``dlfaq doctor``: CUDA/cuDNN diagnosis; ``dlfaq doctor import NAME``: why an import fails.

Exit codes: 0 healthy, 1 a problem was found, 2 a usage error.
"""

from __future__ import annotations

from pathlib import Path

import typer

from dlfaq.commands._common import JsonOpt, UserError, print_json

doctor_app = typer.Typer(
    name="doctor",
    help="Diagnose CUDA/cuDNN set-ups (default) and Python import failures (`doctor import NAME`).",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _read(path: Path | None, what: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UserError(f"cannot read {what} file {str(path)!r}: {exc.strerror or exc}") from None


@doctor_app.callback()
def cuda_cmd(
    ctx: typer.Context,
    root: Path = typer.Option(Path("/"), "--root", help="Examine the filesystem tree at DIR instead of /."),
    ldconfig_output: Path = typer.Option(None, "--ldconfig-output", help="Captured `ldconfig -p` output to use."),
    nvidia_smi_output: Path = typer.Option(None, "--nvidia-smi-output", help="Captured `nvidia-smi` output to use."),
    torch_facts: Path = typer.Option(None, "--torch-facts", hidden=True, help="TorchFacts JSON (for fixtures)."),
    as_json: bool = JsonOpt,
) -> None:
    """Report torch's CUDA/cuDNN, the driver, loaded libraries and the linker's view, with fixes."""
    if ctx.invoked_subcommand is not None:
        return
    from dlfaq.doctor.cuda import diagnose_cuda, fact_lines, load_torch_facts

    if not root.is_dir():
        raise UserError(f"--root {str(root)!r} is not a folder")
    tf = None
    if torch_facts is not None:
        _read(torch_facts, "--torch-facts")
        try:
            tf = load_torch_facts(torch_facts)
        except (ValueError, TypeError) as exc:
            raise UserError(f"--torch-facts {str(torch_facts)!r} is not a torch facts JSON: {exc}") from None
    rep = diagnose_cuda(
        root.resolve(),
        ldconfig_output=_read(ldconfig_output, "--ldconfig-output"),
        nvidia_smi_output=_read(nvidia_smi_output, "--nvidia-smi-output"),
        torch_facts=tf,
    )
    if as_json:
        print_json(rep.to_json())
    else:
        print(rep.render(fact_lines(rep)))
    raise typer.Exit(rep.exit_code)


@doctor_app.command("import")
def import_cmd(
    name: str = typer.Argument(..., metavar="NAME", help="Module to import, e.g. mypkg or mypkg.models."),
    project: Path = typer.Option(None, "--project", help="Project folder to run from (default: the current one)."),
    script: Path = typer.Option(None, "--script", help="Diagnose as `python SCRIPT` (path inside the project)."),
    module: str = typer.Option(None, "--module", "-m", help="Diagnose as `python -m MODULE`."),
    python: str = typer.Option(None, "--python", help="Interpreter to diagnose (default: this one)."),
    as_json: bool = JsonOpt,
) -> None:
    """Explain why `import NAME` fails, or which file it resolves to and why."""
    import re
    import shutil
    import sys

    from dlfaq.doctor.imports import diagnose_import

    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", name):
        raise UserError(f"not a module name: {name!r}")
    proj = (project or Path.cwd()).resolve()
    if not proj.is_dir():
        raise UserError(f"--project {str(project)!r} is not a folder")
    if script is not None and module is not None:
        raise UserError("give --script or --module, not both")
    if script is not None and not (proj / script).is_file():
        raise UserError(f"--script {str(script)!r} is not a file under {proj}")
    py = sys.executable
    if python is not None:
        py = shutil.which(python) or python
        if not Path(py).is_file():
            raise UserError(f"--python {python!r} not found")
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


def register(app: typer.Typer) -> None:
    app.add_typer(doctor_app, name="doctor")
