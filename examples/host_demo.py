# defio on the Unix port: draw into a deferred-IO framebuffer, watch the rounds.
# Run with: make run   (or build/unix/micropython examples/host_demo.py)
import time

import defio
import framebuf

W, H = 256, 256  # 1 bit per pixel: 32 bytes a row, one 4 KiB page holds 128 rows


def deferred_io(d, pages):
    s = d.stats()
    print("  callback: pages %s (faults so far %d)" % (pages, s["faults"]))


d = defio.DeferredIO(W * H // 8, deferred_io, delay_ms=200)
fb = framebuf.FrameBuffer(d.buffer, W, H, framebuf.MONO_HLSB)
print("defio backend %s, page %d bytes, %d page(s)" % (defio.BACKEND, d.page_size, d.npages))

print("burst: 100 draws within one delay -> one callback")
for i in range(100):
    fb.text("frame %d" % i, 0, 0, 1)
    fb.fill_rect(i, 20, 3, 3, 1)
time.sleep_ms(400)

print("clock: one write each 300 ms -> one callback per write")
for sec in range(3):
    fb.fill_rect(0, 200, 64, 8, 0)
    fb.text("t=%d" % sec, 0, 200, 1)
    time.sleep_ms(300)

d.deinit()
print("done")
