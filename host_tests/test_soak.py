"""The randomized, seeded no-lost-update soak (host_tests/soak_core.py) on the target.

`make test` runs a short soak; `make soak` a long one (SOAK_ROUNDS, default 10,000 on the
host and 2,000 on the firmware). SOAK_SEED repeats a run; without it the seed is random and
printed, so a failing run can be reproduced.
"""

import os
import pathlib
import random
import re

HERE = pathlib.Path(__file__).resolve().parent
SHORT = {"unix": 400, "qemu": 150}


def test_soak_loses_no_update(mp, target, tmp_path):
    seed = int(os.environ.get("SOAK_SEED") or random.randrange(1, 1 << 30))
    rounds = int(os.environ.get("SOAK_ROUNDS") or SHORT[target.name])
    blob = None
    if target.name == "unix":
        blob = tmp_path / "blob"
        blob.write_bytes(random.Random(seed).randbytes(4096))
    params = (f"SEED = {seed}\nROUNDS = {rounds}\nTHREADS = {target.name == 'unix'}\n"
              f"BLOB = {str(blob) if blob else None!r}\n")
    res = mp(params + (HERE / "soak_core.py").read_text(), timeout=60 + rounds)
    line = (res.out.strip().splitlines() or [""])[-1]
    print(f"\n{target.name} {line}")
    m = re.fullmatch(r"soak: (\d+) rounds, (\d+) writes, (\d+) lost, seed (\d+)", line)
    assert m, f"seed {seed}: no result line\n{res.out[-3000:]}{res.err[-3000:]}"
    assert res.returncode == 0, f"seed {seed}:\n{res.err[-3000:]}"
    assert int(m[1]) == rounds and int(m[3]) == 0, f"seed {seed}:\n{res.out[-3000:]}"
