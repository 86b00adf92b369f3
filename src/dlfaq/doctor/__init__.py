"""Diagnosis of CUDA/cuDNN set-ups and of Python import failures (``dlfaq doctor``).

* :func:`dlfaq.doctor.cuda.diagnose_cuda` — torch build, driver, loaded libraries,
  the dynamic linker's view; findings with fix commands. Reads, never writes.
* :func:`dlfaq.doctor.imports.diagnose_import` — why ``import NAME`` fails or
  what it resolves to.
* :mod:`dlfaq.doctor.fixtures` and :mod:`dlfaq.doctor.sandbox` — broken set-ups
  built in a folder and a confined applier of printed fixes (tests, experiments).
* :mod:`dlfaq.doctor.trials` — the front-end over both: build a case, diagnose it,
  apply fixes in it (or in fresh copies), check again (Q1, Q2, their notebooks, tests).
"""

from dlfaq.doctor.cuda import diagnose_cuda
from dlfaq.doctor.findings import Finding, Report, Severity
from dlfaq.doctor.imports import diagnose_import

__all__ = ["Finding", "Report", "Severity", "diagnose_cuda", "diagnose_import"]
