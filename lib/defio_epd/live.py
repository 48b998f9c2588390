"""The live handle: the display's planes in defio memory, the deferred callback, the policy.

Round: pages -> byte ranges -> rows of each plane -> rows that differ from the shadow (what
the panel holds) with their byte columns -> bands (a row joins the band above when that costs
no more bytes than a window of its own: `_bands`) -> for each band: RAM window + counters +
data -> one refresh (partial, or full by the policy) -> the
shadow takes the sent bytes only once the refresh finished, on the same panel. Without a
shadow (shadow=False, a measurement aid) every row the pages cover is sent, at full width.
Any error raises out of the callback, so defio hands the same pages back after delay_ms:
nothing is lost.

The shadow is trusted only while the panel is known to hold it. Where the panel has an epoch
(the simulated panel's link: it changes on a reset, power loss, deep sleep, a new panel or
connection), every round checks it, and the confirmation of a refresh checks it again after
BUSY fell; a changed epoch, any error or interrupt, and a BUSY timeout make the panel's content
unknown: the next update sets the controller up again and sends everything with a full
refresh. flush() and deinit() run their round with `wait` set: it waits for its own refresh
and, if the panel changed under it, sends everything again at once.
"""

import defio


def page_size_for(total):
    """The smallest page size (a power of two >= defio's default) at which `total` bytes fit
    in defio.MAX_PAGES pages: a 400x300 4-gray panel (30000 bytes) on a board of 64 pages
    of 256 bytes gets 512-byte pages. ValueError when no page size defio takes fits."""
    ps = max(defio.PAGE_SIZE_DEFAULT, defio.PAGE_SIZE_MIN)
    while (total + ps - 1) // ps > defio.MAX_PAGES:
        ps *= 2
        if ps > 1 << 24:
            raise ValueError(f"defio_epd: {total} bytes of planes do not fit in "
                             f"defio.MAX_PAGES ({defio.MAX_PAGES}) pages of at most 16 MiB")
    return ps


class Live:
    def __init__(self, display, ops, delay_ms, full_every, full_fraction, shadow=True,
                 settle_ms=0, max_delay_ms=0):
        self.display = display
        self.ops = ops
        self.full_every = full_every
        self.full_fraction = full_fraction
        self.stride = ops.stride
        self.rows = ops.rows
        sizes = [display._buffer1_size, display._buffer2_size]
        self.nplanes = 2 if sizes[1] else 1
        self.offsets = [0, sizes[0]]
        self.plane_size = sizes[0]
        total = sum(sizes[:self.nplanes])
        self.shadow = [bytearray(sizes[i]) if shadow else None for i in range(self.nplanes)]
        self.known = False  # the panel's content is unknown until the first full refresh
        self.awake = False
        self.partials_since_full = 0
        self.inflight = None  # (full, bands sent): the refresh started and not yet confirmed
        self.epoch = None  # the panel's epoch once set up (None: no epoch, or not set up)
        self.wait = False  # this round waits for its refresh (flush, deinit)
        self._invalid = False
        self._in_round = False
        self.counts = {"bytes": 0, "refreshes": 0, "partial_refreshes": 0,
                       "full_refreshes": 0, "rounds": 0, "errors": 0, "rows": 0,
                       "panel_restarts": 0}
        # A plane may be longer than its rows (Adafruit_JD79667 allocates more), never shorter.
        if sizes[0] < self.stride * self.rows:
            raise ValueError(f"defio_epd: the driver's plane is {sizes[0]} bytes, less than "
                             f"{self.rows} rows of {self.stride} bytes")
        try:
            self.dio = defio.DeferredIO(total, self._callback, delay_ms=delay_ms,
                                        settle_ms=settle_ms, max_delay_ms=max_delay_ms,
                                        page_size=page_size_for(total))
        except MemoryError as e:  # a pool or page table too small for these planes
            raise MemoryError(f"defio_epd: no room for the planes ({total} bytes) in defio "
                              f"memory: {e}")
        self.page_size = self.dio.page_size
        buf = self.dio.buffer
        framebufs = [display._framebuf1, display._framebuf2]
        olds = [display._buffer1, display._buffer2]
        self.planes = [buf[self.offsets[i]:self.offsets[i] + sizes[i]]
                       for i in range(self.nplanes)]
        # Everything is in place before the first write into defio memory: from then on
        # a round may run between any two bytecodes.
        display.display = self.flush
        for i in range(self.nplanes):
            self.planes[i][:] = olds[i]  # contents kept (and the pages dirty: they get sent)
            framebufs[i].buf = self.planes[i]
        # One-plane drivers whose _buffer2 is _buffer1 (Adafruit_JD79661) keep it so.
        self.alias2 = display._buffer2 is olds[0]
        display._buffer1 = self.planes[0]
        if self.nplanes > 1 or self.alias2:
            display._buffer2 = self.planes[-1]

    # -- the deferred callback ----------------------------------------------------------
    def _callback(self, dio, pages):
        if self._in_round:  # never nested (defio guarantees it; this makes sure)
            raise OSError("defio_epd: a round is already running; the pages will be retried")
        # The app inside its own transaction with the panel: nothing was sent, the panel
        # still holds what it held; the pages are retried, no resend of everything.
        self.ops.check_idle()
        self._in_round = True
        ok = False
        try:  # no except: KeyboardInterrupt and SystemExit go through untouched
            self._round(pages)
            ok = True
        finally:
            self._in_round = False
            if not ok:  # an error or an interrupt: what the panel holds is unknown
                self._failed()
        self.counts["rounds"] += 1

    def _candidate_rows(self, pages):
        """For each plane, a bytearray of flags: the rows that the dirty pages touch."""
        ps = self.page_size
        stride = self.stride
        flags = [bytearray(self.rows) for _ in range(self.nplanes)]
        for p in pages:
            a, b = p * ps, (p + 1) * ps
            for i in range(self.nplanes):
                off = self.offsets[i]
                lo, hi = max(a, off), min(b, off + self.plane_size)
                if lo < hi:
                    # A plane may be longer than its rows (Adafruit_JD79667 rounds the
                    # buffer to 8 pixels, its rows to 4): the tail is no row.
                    f = flags[i]
                    for r in range((lo - off) // stride,
                                   min((hi - off - 1) // stride + 1, self.rows)):
                        f[r] = 1
        return flags

    def _changed(self, plane, shadow, flags):
        """{row: (x0, x1)} for the rows whose bytes differ from the shadow."""
        stride = self.stride
        out = {}
        for r in range(self.rows):
            if not flags[r]:
                continue
            a = r * stride
            if not self.known or shadow is None:
                out[r] = (0, stride - 1)
                continue
            if bytes(plane[a:a + stride]) == shadow[a:a + stride]:
                continue
            x0 = 0
            while plane[a + x0] == shadow[a + x0]:
                x0 += 1
            x1 = stride - 1
            while plane[a + x1] == shadow[a + x1]:
                x1 -= 1
            out[r] = (x0, x1)
        return out

    @staticmethod
    def _bands(changed):
        """Changed rows {row: (x0, x1)} -> RAM windows [(y0, y1, x0, x1)], top to bottom.

        A window costs its set-up (about 14 bytes: the RAM window, the address counters and
        the write-RAM command) plus a full rectangle of data. Each row joins the window above
        it when the grown rectangle costs no more than that window and one of its own: a
        narrow row under a wide band (or the other way round) starts a new window, and rows
        a few lines apart share one (the unchanged rows between them are sent again: the
        panel holds them already, as it holds the unchanged columns of a band)."""
        setup = 14
        bands = []
        for r in sorted(changed):
            x0, x1 = changed[r]
            if bands:
                y0, y1, bx0, bx1 = bands[-1]
                nx0, nx1 = min(bx0, x0), max(bx1, x1)
                grown = (r - y0 + 1) * (nx1 - nx0 + 1)
                apart = (y1 - y0 + 1) * (bx1 - bx0 + 1) + setup + x1 - x0 + 1
                if grown <= apart:
                    bands[-1] = (y0, r, nx0, nx1)
                    continue
            bands.append((r, r, x0, x1))
        return bands

    def _round(self, pages):
        if self._invalid:
            self._invalid = False
            self._lost(False)
        self._confirm()  # the previous refresh finished (BUSY low), on the same panel
        for _ in range(3):
            self._send(pages)
            if not self.wait or self.inflight is None or self._confirm():
                return
            # The panel changed during this refresh: everything again, now.
        raise OSError("defio_epd: the panel restarted during 3 refreshes in a row; "
                      "the pages will be retried")

    def _send(self, pages):
        """Changed rows -> bands -> controller RAM -> one refresh (not waited for)."""
        flags = self._candidate_rows(pages)
        if not self.known:
            flags = [bytearray(b"\x01" * self.rows) for _ in range(self.nplanes)]
        work = []
        rows_changed = bytearray(self.rows)
        for i in range(self.nplanes):
            changed = self._changed(self.planes[i], self.shadow[i], flags[i])
            for r in changed:
                rows_changed[r] = 1
            for band in self._bands(changed):
                work.append((i, band))
        if not work:
            return
        nrows = sum(rows_changed)
        full = (not self.known
                or (self.full_every and self.partials_since_full >= self.full_every)
                or nrows > self.full_fraction * self.rows
                or not self.ops.partial)
        ops = self.ops
        bytes0 = ops.bytes
        try:
            if not self.awake:
                ops.reset()
                # From this reset on the controller holds only what it is told from here:
                # the panel is ours while its epoch stays this one (a reset or power loss
                # during the set-up below changes it too).
                self.epoch = ops.panel_epoch()
                ops.init()
                self.awake = True
            sent = []
            stride = self.stride
            wx0, wx1, wy0, wy1 = stride, -1, self.rows, -1
            for i, (y0, y1, x0, x1) in work:
                plane = self.planes[i]
                data = bytearray()
                for r in range(y0, y1 + 1):
                    data += plane[r * stride + x0:r * stride + x1 + 1]
                ops.write_band(i, x0, x1, y0, y1, data)
                sent.append((i, y0, x0, x1, data))
                wx0, wx1, wy0, wy1 = min(wx0, x0), max(wx1, x1), min(wy0, y0), max(wy1, y1)
            ops.refresh(full, wx0, wx1, wy0, wy1)
        finally:
            self.counts["bytes"] += ops.bytes - bytes0
        # In flight until BUSY falls: the next round, flush() or deinit() confirms it.
        self.inflight = (full, sent)
        self.counts["rows"] += nrows
        self.counts["refreshes"] += 1
        if full:
            self.counts["full_refreshes"] += 1
            self.partials_since_full = 0
        else:
            self.counts["partial_refreshes"] += 1
            self.partials_since_full += 1

    def _same_panel(self):
        """Is the panel still the one set up (same epoch)? If not, its content is unknown."""
        if not self.awake:
            return True  # nothing is trusted yet; the next update sets the panel up
        if self.ops.panel_epoch() == self.epoch:
            return True
        self._lost(True)
        return False

    def _confirm(self):
        """Wait for the refresh in flight; the shadow takes what it showed if the panel is
        still the same one. Returns False when the panel changed (content unknown)."""
        if self.inflight is None:
            return self._same_panel()
        full, sent = self.inflight
        self.ops.wait_refresh(full)
        if not self._same_panel():
            return False
        self.inflight = None
        stride = self.stride
        for i, y0, x0, x1, data in sent:
            shadow = self.shadow[i]
            if shadow is None:
                continue
            w = x1 - x0 + 1
            for k in range(len(data) // w):
                a = (y0 + k) * stride + x0
                shadow[a:a + w] = data[k * w:(k + 1) * w]
        self.known = True
        return True

    def _lost(self, restarted):
        """The panel's content is unknown: set it up again and send everything."""
        if restarted:
            self.counts["panel_restarts"] += 1
        self.awake = False
        self.known = False
        self.inflight = None
        self.epoch = None

    def _failed(self):
        """After any error or interrupt: set the controller up again and resend everything."""
        self.counts["errors"] += 1
        self._lost(False)

    # -- the public handle --------------------------------------------------------------
    def _touch(self):
        """Dirty one page, so that a round runs even when nothing is pending: it confirms
        the refresh in flight and checks that the panel is still the one set up."""
        self.planes[0][0] = self.planes[0][0]

    def flush(self):
        """Send what changed now and wait until the panel shows it; returns the pages
        delivered. With nothing pending it still checks the panel (and resends everything
        to one that restarted)."""
        dio = self.dio
        if dio is None:
            raise ValueError("defio_epd: deinitialised")
        touched = not dio.pending()
        self.wait = True
        try:
            if touched:
                self._touch()
            n = dio.flush()
        finally:
            self.wait = False
        return n - 1 if touched and n else n

    def invalidate(self):
        """The panel's content is unknown (the app powered it down, for example): the next
        update sets the controller up again and sends everything with a full refresh."""
        if self.dio is None:
            raise ValueError("defio_epd: deinitialised")
        self._invalid = True
        self._touch()

    def stats(self):
        s = dict(self.counts)
        s["controller"] = self.ops.name
        if self.dio is not None:
            d = self.dio.stats()
            s["faults"] = d["faults"]
            s["pages"] = d["pages"]
            s["defio_errors"] = d["errors"]
        return s

    def deinit(self):
        """Flush, put the panel to sleep, give the display plain buffers back. Idempotent."""
        if self.dio is None:
            return
        dio, self.dio = self.dio, None
        self.wait = True
        try:
            if not dio.pending():
                self._touch()
            dio.deinit()  # the last round (it waits for its refresh), then defio stops
        finally:
            self.wait = False
            disp = self.display
            framebufs = [disp._framebuf1, disp._framebuf2]
            plain = [bytearray(p) for p in self.planes]
            for i in range(self.nplanes):
                framebufs[i].buf = plain[i]
            disp._buffer1 = plain[0]
            if self.nplanes > 1 or self.alias2:
                disp._buffer2 = plain[-1]
            try:
                del disp.display
            except AttributeError:
                pass
            self.planes = []
            if self.awake:  # not after a failure: no deep sleep command into a failed panel
                self.awake = False
                self.ops.sleep()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.deinit()
