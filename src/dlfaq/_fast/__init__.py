"""Private speed engines behind dlfaq's readable reference implementations (issue 14).

Each module has one entry point that returns ``None`` when its probe says it does not
apply, so the caller falls back to the reference version; tests use the reference as
the oracle for the engine.
"""
