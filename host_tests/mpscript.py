"""Helpers to run a MicroPython test script and read back the values it reports."""

import ast

# Prelude shared by the contract scripts: page size of the target and a recording callback.
PRELUDE = """
import defio, gc, time
P = defio.PAGE_SIZE_DEFAULT
log = []
def record(d, pages):
    log.append(pages)
def report(*values):
    print("@@", repr(values if len(values) != 1 else values[0]))
"""


def run(mp, body, timeout=60, tracebacks=False):
    """Run PRELUDE + body; return (values reported with report(), full output text).

    The script must finish cleanly; printed tracebacks are allowed only with tracebacks=True
    (a test of errors that are printed and survived).
    """
    res = mp(PRELUDE + body, timeout=timeout)
    text = res.out + res.err
    assert res.returncode == 0, text
    assert tracebacks or "Traceback" not in text, text
    values = [ast.literal_eval(line[3:]) for line in res.out.splitlines()
              if line.startswith("@@ ")]
    return values, text
