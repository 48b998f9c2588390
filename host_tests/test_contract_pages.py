"""Which pages a write marks: Python and C-level writers, boundaries, reads."""

from mpscript import run


def test_python_writes_mark_exact_pages(mp):
    vals, _ = run(mp, """
import struct
d = defio.DeferredIO(6 * P, record, delay_ms=100000)
b = d.buffer
b[3 * P + 7] = 1
report(d.pending())
d.flush()
b[P:P + 4] = b"abcd"
report(d.pending())
d.flush()
struct.pack_into("<I", b, 5 * P + 8, 0x12345678)
report(d.pending())
d.flush()
b[P - 2:P + 2] = b"wxyz"           # straddles a page boundary: both pages
report(d.pending())
d.flush()
struct.pack_into("<Q", b, 4 * P - 4, 1)   # straddling C-level store
report(d.pending(), log)
d.deinit()
""")
    assert vals[:4] == [[3], [1], [5], [0, 1]]
    assert vals[4] == ([3, 4], [[3], [1], [5], [0, 1]])


def test_framebuf_writes_mark_exact_pages(mp):
    # A 1-bit 256-pixel-wide framebuffer: one row is 32 bytes, a page is P // 32 rows.
    vals, _ = run(mp, """
import framebuf
W = 256
rows = P // 32
d = defio.DeferredIO(4 * P, record, delay_ms=100000)
fb = framebuf.FrameBuffer(d.buffer, W, 4 * rows, framebuf.MONO_HLSB)
fb.fill_rect(10, rows + 1, 5, 3, 1)                  # inside page 1
report(d.pending()); d.flush()
fb.text("hi", 0, 3 * rows + 2, 1)                    # inside page 3
report(d.pending()); d.flush()
fb.fill_rect(0, 2 * rows - 1, 8, 2, 1)               # rows straddle pages 1 and 2
report(d.pending()); d.flush()
src = framebuf.FrameBuffer(bytearray(8), 8, 8, framebuf.MONO_HLSB)
src.fill(1)
fb.blit(src, 100, 2 * rows + 3)                      # page 2
report(d.pending()); d.flush()
fb.pixel(W - 1, 4 * rows - 1, 1)                     # last byte of the buffer
report(d.pending()); d.flush()
report(fb.pixel(W - 1, 4 * rows - 1), fb.pixel(10, rows + 1))
d.deinit()
""")
    assert vals == [[1], [3], [1, 2], [2], [3], (1, 1)]


def test_reads_never_fault_and_rewrites_are_free(mp):
    vals, _ = run(mp, """
d = defio.DeferredIO(4 * P, record, delay_ms=100000)
b = d.buffer
s = 0
for i in range(0, len(b), 64):
    s += b[i]
bytes(b)
report(d.stats()["faults"], s)
for i in range(200):
    b[P + (i % 64)] = i
report(d.stats()["faults"], d.pending())
d.deinit()
""")
    assert vals == [(0, 0), (1, [1])]


def test_flush_semantics(mp):
    vals, _ = run(mp, """
calls = []
def cb(d, pages):
    calls.append((d is dd, pages, d.pending()))
dd = defio.DeferredIO(4 * P, cb, delay_ms=100000)
report(dd.flush(), calls)                # nothing pending: no callback
dd.buffer[3 * P] = 1
dd.buffer[0] = 1
dd.buffer[2 * P + 1] = 1
report(dd.pending())
report(dd.flush(), calls)                # synchronous, sorted, pending cleared
report(dd.pending(), dd.flush())
dd.deinit()
""")
    assert vals == [(0, []), [0, 2, 3], (3, [(True, [0, 2, 3], [])]), ([], 0)]


def test_two_instances_are_independent(mp):
    vals, _ = run(mp, """
a_log = []; b_log = []
a = defio.DeferredIO(3 * P, lambda d, p: a_log.append(p), delay_ms=20)
b = defio.DeferredIO(2 * P, lambda d, p: b_log.append(p), delay_ms=60)
a.buffer[2 * P] = 1
b.buffer[0] = 1
b.buffer[P] = 1
time.sleep_ms(300)
report(a_log, b_log, a.stats()["faults"], b.stats()["faults"])
a.deinit()
b.buffer[1] = 2
time.sleep_ms(150)
report(b_log)
b.deinit()
""")
    assert vals == [([[2]], [[0, 1]], 1, 2), [[0, 1], [0]]]


def test_create_destroy_many_instances(mp):
    vals, _ = run(mp, """
n = 0
for i in range(1000):
    d = defio.DeferredIO(P + i, record, delay_ms=0)
    d.buffer[i] = 1
    d.deinit()
    n += 1
    if i % 50 == 0:
        gc.collect()
with defio.DeferredIO(P, record) as d:
    d.buffer[0] = 1
report(n, len(log), log[-1])
""", timeout=300)
    assert vals == [(1000, 1001, [0])]
