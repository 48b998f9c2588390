"""Targets that run a MicroPython script and return what it printed."""

import dataclasses
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"


@dataclasses.dataclass
class Result:
    out: str          # stdout (and, on targets with one stream, everything printed)
    err: str          # stderr ("" where the target has one stream)
    returncode: int   # process exit status; on the firmware 0 unless the run failed


class UnixTarget:
    """The Unix port built with defio (build/unix/micropython), one process per script."""

    name = "unix"

    def __init__(self):
        self.exe = BUILD / "unix" / "micropython"
        if not self.exe.exists():
            raise RuntimeError(f"{self.exe} is missing: run `make unix` first")

    def run(self, src, timeout=60, env=None):
        full_env = dict(os.environ, MICROPYPATH=f".frozen:{ROOT / 'lib'}:{BUILD / 'pylib'}")
        full_env.update(env or {})
        p = subprocess.run([str(self.exe), "-c", src], capture_output=True, text=True,
                           timeout=timeout, env=full_env, cwd=ROOT, check=False)
        return Result(p.stdout, p.stderr, p.returncode)

    def close(self):
        pass


def make_target(name, board="MPS2_AN385"):
    if name == "unix":
        return UnixTarget()
    if name == "qemu":
        from target_qemu import QemuTarget  # the firmware in QEMU, driven by mpremote

        return QemuTarget(board)
    raise ValueError(f"unknown target {name!r}")
