"""The live handle: the display's planes in defio memory, the deferred callback, the policy.

Round: pages -> byte ranges -> rows of each plane -> rows that differ from the shadow (what
the panel holds) with their byte columns -> bands of consecutive changed rows -> for each
band: RAM window + counters + data -> one refresh (partial, or full by the policy) -> the
shadow takes the sent bytes only once the refresh finished. Without a shadow (shadow=False,
a measurement aid) every row the pages cover is sent, at full width. Any error raises out of
the callback, so defio hands the same pages back after delay_ms: nothing is lost.
"""

import defio


class Live:
    def __init__(self, display, ops, delay_ms, full_every, full_fraction, shadow=True):
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
        self.counts = {"bytes": 0, "refreshes": 0, "partial_refreshes": 0,
                       "full_refreshes": 0, "rounds": 0, "errors": 0, "rows": 0}
        self.dio = defio.DeferredIO(total, self._callback, delay_ms=delay_ms)
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
        display._buffer1 = self.planes[0]
        if self.nplanes > 1:
            display._buffer2 = self.planes[1]

    # -- the deferred callback ----------------------------------------------------------
    def _callback(self, dio, pages):
        try:
            self._round(pages)
        except Exception:
            self._failed()
            raise
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
                    f = flags[i]
                    for r in range((lo - off) // stride, (hi - off - 1) // stride + 1):
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
        """Consecutive changed rows -> [(y0, y1, x0, x1)]."""
        bands = []
        for r in sorted(changed):
            x0, x1 = changed[r]
            if bands and bands[-1][1] == r - 1:
                y0, _, bx0, bx1 = bands[-1]
                bands[-1] = (y0, r, min(bx0, x0), max(bx1, x1))
            else:
                bands.append((r, r, x0, x1))
        return bands

    def _round(self, pages):
        self.ops.check_idle()
        self._confirm()  # the previous refresh must have finished (BUSY low) first
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
                ops.wake()
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

    def _confirm(self):
        """Wait for the refresh in flight; then the shadow takes what it showed."""
        if self.inflight is None:
            return
        full, sent = self.inflight
        self.ops.wait_refresh(full)
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

    def _failed(self):
        """After any error: set the controller up again and resend everything."""
        self.counts["errors"] += 1
        self.awake = False
        self.known = False
        self.inflight = None

    # -- the public handle --------------------------------------------------------------
    def flush(self):
        """Send what changed now and wait for the refresh; returns the pages delivered."""
        if self.dio is None:
            raise ValueError("defio_epd: deinitialised")
        n = self.dio.flush()
        try:
            self._confirm()
        except Exception:
            self._failed()
            self.planes[0][0] = self.planes[0][0]  # dirty a page: defio retries the update
            raise
        return n

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
        try:
            dio.deinit()
            self._confirm()
        except Exception:
            self.awake = False  # no deep sleep command into a failed panel
            raise
        finally:
            disp = self.display
            framebufs = [disp._framebuf1, disp._framebuf2]
            plain = [bytearray(p) for p in self.planes]
            for i in range(self.nplanes):
                framebufs[i].buf = plain[i]
            disp._buffer1 = plain[0]
            if self.nplanes > 1:
                disp._buffer2 = plain[1]
            try:
                del disp.display
            except AttributeError:
                pass
            self.planes = []
            if self.awake:
                self.awake = False
                self.ops.sleep()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.deinit()
