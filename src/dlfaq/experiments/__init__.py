"""Experiments: one module per question (``qNN_topic.py``), each registering
``@experiment`` functions that return :class:`Evidence` with computed verdicts."""

from dlfaq.experiments._core import (
    PROFILES,
    VERDICTS,
    Evidence,
    ExperimentSpec,
    RunContext,
    Table,
    Verdict,
    default_device,
    discover,
    evidence_dir,
    expected_claims,
    experiment,
    experiments_for,
    judge,
    load_evidence,
    run_experiment,
    seed_everything,
)

__all__ = [
    "PROFILES",
    "VERDICTS",
    "Evidence",
    "ExperimentSpec",
    "RunContext",
    "Table",
    "Verdict",
    "default_device",
    "discover",
    "evidence_dir",
    "expected_claims",
    "experiment",
    "experiments_for",
    "judge",
    "load_evidence",
    "run_experiment",
    "seed_everything",
]
