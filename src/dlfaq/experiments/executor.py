"""Run many experiments: one after the other, or their units in worker processes (``-j N``).

The unit of work is a :class:`~dlfaq.experiments._core.Unit` of a
:class:`~dlfaq.experiments._core.Study` (one seed of one configuration); a
plain function experiment is one unit. With ``jobs > 1`` the units of all the
experiments go to a pool of ``jobs`` worker processes (``spawn``, so no torch
state is inherited), each with one intra-op thread; an experiment is merged
and its evidence written in the main process as soon as its last unit is back.
Every unit is seeded from its own parameters and its result goes through JSON
before the merge, so ``-j 1`` and ``-j N`` write the same metrics and
verdicts. On Ctrl-C the workers are ended and no evidence is half-written
(each experiment's evidence is renamed into place only when complete).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from dlfaq.experiments._core import (
    ExperimentSpec,
    RunContext,
    Unit,
    cached_unit,
    plan,
    run_experiment,
    run_unit,
    store_unit,
)

ProgressFn = Callable[[float, float, str], None]
#: What a worker needs to rebuild the run's context: seed, profile, device, out folder, cache folder.
CtxArgs = tuple[int, str, str, str, "str | None"]
Record = dict[str, Any]


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _context(seed: int, profile: str, device: str, out: str, cache: str | None = None) -> RunContext:
    return RunContext(seed=seed, profile=profile, device=device, out_dir=Path(out),  # type: ignore[arg-type]
                      cache_dir=None if cache is None else Path(cache))


def _worker_init() -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import torch

    torch.set_num_threads(1)


def spawn_pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` worker processes started with ``spawn`` (no torch state inherited), one
    intra-op thread each."""
    import multiprocessing as mp

    return ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=_worker_init)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """End the workers now (Ctrl-C or a crash): running tasks are killed, queued ones cancelled."""
    for p in list((getattr(pool, "_processes", None) or {}).values()):
        p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def _unit_task(name: str, ctx_args: CtxArgs, key: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], float]:
    """One unit in a worker: its result and the seconds it took there (0 for a cache hit, nearly)."""
    import time

    from dlfaq.experiments._core import discover

    spec = discover()[name]
    t0 = time.perf_counter()
    result = run_unit(spec, _context(*ctx_args), Unit(key, dict(params)))
    return result, time.perf_counter() - t0


def _plain_task(name: str, ctx_args: CtxArgs) -> dict[str, Any]:
    from dlfaq.experiments._core import discover

    return run_experiment(discover()[name], _context(*ctx_args))


def run_all(
    specs: Sequence[ExperimentSpec],
    *,
    seed: int,
    profile: str,
    out: Path | str,
    device: str,
    jobs: int = 1,
    progress: ProgressFn | None = None,
    cache: Path | str | None = None,
    executor: str = "local",
    ray_address: str | None = None,
) -> list[dict[str, Any]]:
    """Run ``specs`` and return their evidence records, in the order of ``specs``.

    ``cache`` is a folder of unit results (shared storage works): a unit whose
    key has not changed is read from it instead of computed. ``executor="ray"``
    sends the units to a Ray cluster (``ray_address``, or a local one of
    ``jobs`` CPUs when none is running); see :func:`_ray`.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be 'local' or 'ray', got {executor!r}")
    ctx_args = (seed, profile, device, str(out), None if cache is None else str(cache))
    if executor == "ray" and specs:
        return _ray(specs, ctx_args, jobs, progress, ray_address)
    if jobs == 1 or all(s.study is None for s in specs):  # exact checks: seconds, not worth a pool
        return _sequential(specs, ctx_args, progress)
    return _parallel(specs, ctx_args, jobs, progress)


def _sequential(specs: Sequence[ExperimentSpec], ctx_args: CtxArgs, progress: ProgressFn | None) -> list[Record]:
    records = []
    for i, spec in enumerate(specs):
        def prog(done: float, total: float, desc: str = "", _s: ExperimentSpec = spec, _i: int = i) -> None:
            if progress is not None:
                progress(done, total, f"[{_i + 1}/{len(specs)}] {_s.name}" + (f" {desc}" if desc else ""))

        prog(0, 1)
        ctx = _context(*ctx_args)
        ctx.progress = prog
        records.append(run_experiment(spec, ctx))
    return records


def _parallel(specs: Sequence[ExperimentSpec], ctx_args: CtxArgs, jobs: int, progress: ProgressFn | None) -> list[Record]:
    records: dict[str, dict[str, Any]] = {}
    pending: dict[str, set[str]] = {}  # experiment -> unit keys not back yet
    results: dict[str, dict[str, dict[str, Any]]] = {}
    errors: dict[str, BaseException] = {}
    futures: dict[Future[Any], tuple[str, str | None]] = {}
    unit_seconds: dict[str, float] = {}
    total = 0
    done = 0
    pool = spawn_pool(jobs)
    try:
        for spec in specs:
            if spec.study is None:
                futures[pool.submit(_plain_task, spec.name, ctx_args)] = (spec.name, None)
                total += 1
                continue
            try:
                units = plan(spec, _context(*ctx_args))
            except Exception as exc:  # noqa: BLE001 - recorded as a failed experiment below
                errors[spec.name] = exc
                pending[spec.name] = set()
                continue
            pending[spec.name] = {u.key for u in units}
            results[spec.name] = {}
            for u in units:
                futures[pool.submit(_unit_task, spec.name, ctx_args, u.key, dict(u.params))] = (spec.name, u.key)
                total += 1
        by_name = {s.name: s for s in specs}
        for name in [n for n, keys in pending.items() if not keys]:
            records[name] = _merge(by_name[name], ctx_args, results.get(name, {}), errors.get(name))
        if progress is not None:
            progress(0, total, "units")
        while futures:
            finished, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for fut in finished:
                name, key = futures.pop(fut)
                done += 1
                if key is None:
                    records[name] = _result_or_failure(fut, name)
                    label = name
                else:
                    try:
                        results[name][key], secs = fut.result()
                        unit_seconds[name] = unit_seconds.get(name, 0.0) + secs
                    except Exception as exc:  # noqa: BLE001 - the experiment is recorded as failed
                        errors.setdefault(name, exc)
                    pending[name].discard(key)
                    label = f"{name} {key}"
                    if not pending[name]:
                        records[name] = _merge(by_name[name], ctx_args, results[name], errors.get(name),
                                               unit_seconds.get(name, 0.0))
                if progress is not None:
                    progress(done, total, label)
    except BaseException:
        stop_pool(pool)  # Ctrl-C or a crash; evidence already renamed into place stays
        raise
    pool.shutdown(wait=True)
    return [records[s.name] for s in specs]


def _ray_unit(name: str, ctx_args: CtxArgs, key: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], float]:
    _worker_init()
    return _unit_task(name, ctx_args, key, params)


def _ray(specs: Sequence[ExperimentSpec], ctx_args: CtxArgs, jobs: int, progress: ProgressFn | None,
         address: str | None) -> list[Record]:
    """The units as Ray tasks (one CPU each, a quarter GPU each when the device is CUDA).

    Plain function experiments (the exact checks, seconds each) and every merge
    run here in the driver, so evidence and figures are written where the user
    reads them; only unit results travel. With ``address`` the driver joins an
    existing cluster (``ray.init(address=...)``); otherwise it starts a local
    one with ``jobs`` CPUs and stops it at the end. The unit cache is read and
    written by the driver only (hits are never sent to the cluster, results are
    saved as they come back), so the nodes need no shared storage. The workers
    need dlfaq installed (the same version) to import the experiments.
    """
    try:
        import ray
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the extra
        raise RuntimeError("the ray executor needs Ray: pip install 'dlfaq[cluster]'") from exc
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False)
        started = True
    try:
        return _RayRun(ray, specs, ctx_args, progress).run()
    finally:
        if started:
            ray.shutdown()


class _RayRun:
    """One ``--executor ray`` run: submit the units that are not cached, run the exact checks
    here meanwhile, merge each experiment as soon as its last unit is back."""

    def __init__(self, ray: Any, specs: Sequence[ExperimentSpec], ctx_args: CtxArgs,
                 progress: ProgressFn | None) -> None:
        self.ray, self.specs, self.ctx_args, self.progress = ray, specs, ctx_args, progress
        self.by_name = _by_name(specs)
        self.ctx = _context(*ctx_args)
        self.refs: dict[Any, tuple[str, str]] = {}
        self.units: dict[str, dict[str, Unit]] = {}
        self.results: dict[str, dict[str, dict[str, Any]]] = {}
        self.errors: dict[str, BaseException] = {}
        self.unit_seconds: dict[str, float] = {}
        self.records: dict[str, Record] = {}
        self.done = self.total = 0

    def run(self) -> list[Record]:
        self._submit()
        for spec in self.specs:  # the exact checks run here while the cluster trains
            if spec.study is None:
                self.records[spec.name] = run_experiment(spec, _context(*self.ctx_args))
                self._tick(spec.name)
        for name in self.units:
            self._merge_if_complete(name)
        waiting = list(self.refs)
        while waiting:
            ready, waiting = self.ray.wait(waiting, num_returns=1)
            for ref in ready:
                self._receive(ref)
        return [self.records[s.name] for s in self.specs]

    def _submit(self) -> None:
        gpu = 0.25 if str(self.ctx_args[2]).startswith("cuda") else 0
        task = self.ray.remote(num_cpus=1, num_gpus=gpu, max_retries=1)(_ray_unit)
        worker_args = self.ctx_args[:4] + (None,)  # the cache is read and written here, not on the nodes
        for spec in self.specs:
            if spec.study is None:
                self.total += 1
                continue
            self.units[spec.name] = {u.key: u for u in plan(spec, self.ctx)}
            self.results[spec.name] = {}
            for u in self.units[spec.name].values():
                self.total += 1
                hit = cached_unit(spec, self.ctx, u)
                if hit is not None:
                    self.results[spec.name][u.key] = hit
                    self.done += 1
                else:
                    self.refs[task.remote(spec.name, worker_args, u.key, dict(u.params))] = (spec.name, u.key)

    def _receive(self, ref: Any) -> None:
        name, key = self.refs[ref]
        try:
            result, secs = self.ray.get(ref)
            self.results[name][key] = result
            self.unit_seconds[name] = self.unit_seconds.get(name, 0.0) + secs
            store_unit(self.by_name[name], self.ctx, self.units[name][key], result)
        except Exception as exc:  # noqa: BLE001 - recorded as a failed experiment
            self.errors.setdefault(name, exc)
            self.results[name].setdefault(key, {})
        self._tick(f"{name} {key}")
        self._merge_if_complete(name)

    def _merge_if_complete(self, name: str) -> None:
        if name not in self.records and len(self.results[name]) == len(self.units[name]):
            self.records[name] = _merge(self.by_name[name], self.ctx_args, self.results[name],
                                        self.errors.get(name), self.unit_seconds.get(name, 0.0))

    def _tick(self, label: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total, label)


def _by_name(specs: Sequence[ExperimentSpec]) -> dict[str, ExperimentSpec]:
    return {s.name: s for s in specs}


def _merge(spec: ExperimentSpec, ctx_args: CtxArgs, results: dict[str, Any], error: BaseException | None,
           unit_seconds: float = 0.0) -> dict[str, Any]:
    ctx = _context(*ctx_args)
    return run_experiment(spec, ctx, unit_results=error if error is not None else results,
                          unit_seconds=unit_seconds)


def _result_or_failure(fut: Future[Record], name: str) -> dict[str, Any]:
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - a worker that died still yields a record
        return {"name": name, "status": "failed", "error": f"{type(exc).__name__}: {exc}", "verdicts": [],
                "metrics": {}, "timings": {}, "tables": [], "figures": [], "missing_verdicts": []}
