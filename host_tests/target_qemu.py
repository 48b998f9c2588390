"""The firmware target: tools.boards.QemuBoard, plus the raw REPL's low-level calls that the
firmware tests use to talk to the board directly (Ctrl-C mid-callback, the friendly REPL).

The libraries are frozen into the firmware: nothing is copied onto the board (`pylib` and
`copy_lib` are accepted for older callers and ignored).
"""

from tools.boards import FRIENDLY_PROMPT, QemuBoard

__all__ = ["FRIENDLY_PROMPT", "QemuTarget"]


class QemuTarget(QemuBoard):
    def __init__(self, board="MPS2_AN385", panel="tcp", copy_lib=True, icount=False,
                 pylib=False):
        del copy_lib
        super().__init__(board, panel=panel, icount=icount)
        self.pylib = pylib
        self._lib_ok = True

    # The raw REPL client's calls under their former names.
    def _write(self, data):
        self.repl.write(data)

    def _read_until(self, marker, timeout, buf=b""):
        return self.repl.read_until(marker, timeout, buf)

    def _drain(self, quiet=0.1):
        return self.repl.drain(quiet)

    def _soft_reset(self):
        self.reset_output = self.repl.soft_reset()

    @property
    def _raw(self):
        return self.repl._raw

    @_raw.setter
    def _raw(self, value):
        self.repl._raw = value
