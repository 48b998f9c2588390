"""The test suite's targets: the boards of tools/boards.py (one host-side board API for
`make run`, the tests and the bench). `--target unix` is the Unix port, `--target qemu` the
firmware in QEMU (`--board`)."""

from tools.boards import BUILD, ROOT, Result, UnixBoard

__all__ = ["BUILD", "ROOT", "Result", "UnixTarget", "make_target"]


class UnixTarget(UnixBoard):
    """The Unix port; scripts run in the repository root (paths in tests are relative)."""

    def run(self, src, timeout=60, env=None, on_output=None, on_error=None, cwd=ROOT):
        return super().run(src, timeout, env, on_output, on_error, cwd)


def make_target(name, board="MPS2_AN385"):
    if name == "unix":
        return UnixTarget()
    if name == "qemu":
        from target_qemu import QemuTarget

        return QemuTarget(board)
    raise ValueError(f"unknown target {name!r}")

