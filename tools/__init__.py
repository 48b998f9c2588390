"""Host-side tools of defio: the board API (boards.py), the runner (run.py), the QEMU
launcher, the panel simulator, the benchmarks. Import them as `tools.<name>` from the
repository root (`python -m tools.run`; pytest puts the root on sys.path).
"""
