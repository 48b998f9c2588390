"""Contract points that only exist on the host backend (mprotect + SIGSEGV)."""

import signal
import subprocess
import time

import pytest
from mpscript import run


@pytest.fixture(autouse=True)
def _unix_only(target):
    if target.name != "unix":
        pytest.skip("host backend only")


def test_unrelated_segfault_still_kills_the_process(mp):
    res = mp("""
import defio, uctypes
d = defio.DeferredIO(100, lambda d, p: None)
d.buffer[0] = 1
print("armed")
uctypes.bytearray_at(0, 4)[0] = 1
print("survived")
""")
    assert res.returncode == -signal.SIGSEGV, (res.returncode, res.out, res.err)
    assert "armed" in res.out and "survived" not in res.out


def test_write_after_collection_faults_loudly(mp):
    # A slice of the buffer does not keep the instance alive; once it is collected the
    # address range stays reserved and inaccessible: a stale write crashes, never corrupts.
    res = mp("""
import defio, gc
d = defio.DeferredIO(100, lambda d, p: None)
s = memoryview(d.buffer)[10:20]
d.deinit()
d = None
for i in range(3):
    gc.collect()
e = defio.DeferredIO(100, lambda d, p: None)
print("ready")
s[0] = 1
print("survived", e.pending())
""")
    assert "ready" in res.out and "survived" not in res.out
    assert res.returncode == -signal.SIGSEGV


def test_kernel_writes_into_the_buffer_work(mp, tmp_path):
    blob = tmp_path / "blob"
    data = bytes(range(256)) * 40
    blob.write_bytes(data)
    vals, _ = run(mp, f"""
d = defio.DeferredIO(3 * P, record, delay_ms=100000)
with open({str(blob)!r}, "rb") as f:
    f.seek(100)
    n = f.readinto(memoryview(d.buffer)[P - 10:P + 20])
report(n, d.pending(), bytes(d.buffer[P - 10:P + 20]) == {data!r}[100:130])
d.deinit()
""")
    assert vals == [(30, [0, 1], True)]


def test_callback_runs_while_the_repl_is_idle():
    exe = "build/unix/micropython"
    p = subprocess.Popen([exe, "-i"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, bufsize=0)
    try:
        p.stdin.write("import defio\n"
                      "d = defio.DeferredIO(100, lambda d, p: print('CALLBACK', p), "
                      "delay_ms=50)\n"
                      "d.buffer[3] = 1\n")
        time.sleep(1.0)  # the REPL waits for input; nothing else is sent meanwhile
        p.stdin.write("print('after idle')\n")
        out, _ = p.communicate(timeout=10)
    finally:
        p.kill()
    assert "CALLBACK [0]" in out
    assert out.index("CALLBACK [0]") < out.index("after idle")
