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


def run(mp, body, timeout=60, expect_ok=True):
    """Run PRELUDE + body; return (values reported with report(), full output text)."""
    res = mp(PRELUDE + body, timeout=timeout)
    text = res.out + res.err
    if expect_ok:
        assert res.returncode == 0 and "Traceback" not in text, text
    values = [ast.literal_eval(line[3:]) for line in res.out.splitlines()
              if line.startswith("@@ ")]
    return values, text
