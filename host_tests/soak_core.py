# The defio soak, run on the board (MicroPython). The host prepends SEED, ROUNDS, THREADS
# and BLOB (a file path for readinto, or None) and reads back the last line it prints.
#
# A soak round: random writers (byte stores, slices, framebuf, struct.pack_into, readinto
# from a file, a writer thread on the host) with random pauses, random flush(), delay_ms
# changes, deinit() and re-creation, callbacks that randomly raise or sleep; then every
# pending page is delivered and a shadow rebuilt only from delivered pages must equal the
# buffer. Any difference is a lost update.
import random
import struct
import time

import defio
import framebuf

try:
    import _thread
except ImportError:
    _thread = None

SEED = globals().get("SEED", 1)
ROUNDS = globals().get("ROUNDS", 100)
THREADS = globals().get("THREADS", False) and _thread is not None
BLOB = globals().get("BLOB", None)

random.seed(SEED)
P = defio.PAGE_SIZE_DEFAULT
NPAGES = min(8, defio.MAX_PAGES)
SIZE = NPAGES * P - 3             # the last page partly used

state = {"raise": 0, "sleep": 0, "calls": 0, "errors": 0}
shadow = bytearray(SIZE)


def callback(d, pages):
    state["calls"] += 1
    if state["raise"] > 0:
        state["raise"] -= 1
        state["errors"] += 1
        raise RuntimeError("soak: injected callback failure")
    b = d.buffer
    for p in pages:
        shadow[p * P:(p + 1) * P] = b[p * P:(p + 1) * P]
    if state["sleep"]:
        time.sleep_ms(state["sleep"])


def make():
    for i in range(len(shadow)):
        shadow[i] = 0
    return defio.DeferredIO(SIZE, callback, delay_ms=random.getrandbits(3))


thread_job = {"run": False, "writes": 0, "alive": False}


def thread_writer(d):
    thread_job["alive"] = True
    r = 12345
    while thread_job["run"]:
        r = (r * 1103515245 + 12345) & 0x7FFFFFFF
        d.buffer[r % SIZE] = r & 255
        thread_job["writes"] += 1
    thread_job["alive"] = False


def write_some(d, fb, blob):
    b = d.buffer
    kind = random.getrandbits(3)
    if kind <= 2:
        b[random.getrandbits(16) % SIZE] = random.getrandbits(8)
    elif kind == 3:
        a = random.getrandbits(16) % SIZE
        n = min(SIZE - a, 1 + random.getrandbits(9))
        b[a:a + n] = bytes([random.getrandbits(8)]) * n
    elif kind == 4:
        fb.fill_rect(random.getrandbits(7), random.getrandbits(6), 1 + random.getrandbits(5),
                     1 + random.getrandbits(3), random.getrandbits(8))
    elif kind == 5:
        struct.pack_into("<IH", b, random.getrandbits(16) % (SIZE - 6),
                         random.getrandbits(30), random.getrandbits(16))
    elif kind == 6 and blob is not None:
        a = random.getrandbits(16) % (SIZE - 64)
        blob.seek(random.getrandbits(8))
        blob.readinto(memoryview(b)[a:a + 1 + random.getrandbits(6)])
    else:
        time.sleep_ms(random.getrandbits(2))


def settle(d):
    # Deliver everything: by the timer (wait) or by flush(); a raising callback puts its
    # pages back, so try again until nothing is pending.
    state["sleep"] = 0
    if random.getrandbits(1):
        t0 = time.ticks_ms()
        while d.pending() and time.ticks_diff(time.ticks_ms(), t0) < 2000:
            time.sleep_ms(2)
    for _ in range(50):
        try:
            d.flush()
        except RuntimeError:
            continue
        if not d.pending():
            return


def main(blob):
    d = make()
    fb = framebuf.FrameBuffer(d.buffer, 128, SIZE // 128, framebuf.GS8)
    writes = lost = rounds = 0
    for rounds in range(1, ROUNDS + 1):
        if THREADS and rounds % 50 == 1:
            thread_job["run"] = True
            _thread.start_new_thread(thread_writer, (d,))
        for _ in range(1 + random.getrandbits(4)):
            write_some(d, fb, blob)
            writes += 1
            op = random.getrandbits(6)
            if op == 0:
                state["raise"] = 1 + random.getrandbits(1)
            elif op == 1:
                state["sleep"] = random.getrandbits(2)
            elif op == 2:
                d.delay_ms = random.getrandbits(4)
            elif op == 3:
                try:
                    d.flush()
                except RuntimeError:
                    pass
        if thread_job["run"] and rounds % 50 == 0:
            thread_job["run"] = False
            while thread_job["alive"]:
                time.sleep_ms(1)
        if not thread_job["run"]:
            settle(d)
            diff = sum(1 for i in range(SIZE) if shadow[i] != d.buffer[i])
            if diff:
                lost += diff
                print("soak: round", rounds, "lost", diff, "bytes; pending", d.pending())
        if random.getrandbits(7) == 0 and not thread_job["run"]:
            state["raise"] = 0
            d.deinit()
            d = make()
            fb = framebuf.FrameBuffer(d.buffer, 128, SIZE // 128, framebuf.GS8)
    thread_job["run"] = False
    while thread_job["alive"]:
        time.sleep_ms(1)
    state["raise"] = 0
    d.deinit()
    writes += thread_job["writes"]
    print(f"soak: {rounds} rounds, {writes} writes, {lost} lost, seed {SEED}")


if BLOB:
    with open(BLOB, "rb") as f:
        main(f)
else:
    main(None)
