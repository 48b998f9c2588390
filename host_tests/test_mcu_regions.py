"""MPU regions on the firmware: how the backends spend them, and what happens when none is left.

PMSAv6/v7 open a page with a subregion bit: every first write is exact. PMSAv8 has no
subregions: an instance's protected part is a set of intervals, one region each, and a first
write in the middle of an interval splits it. When no region is left, the smaller side of the
split is opened with the page and all of its pages are marked dirty: a round may report pages
that were not written, never miss one. A flush gathers the instance into one region again.
These tests hold on every board; on MPS2_AN505_R8 (8 regions) regions run out early.
"""

import pytest
from mpscript import run


@pytest.fixture(scope="module")
def board(target):
    if target.name != "qemu":
        pytest.skip("firmware only: run with --target qemu")
    vals, _ = run(target.run, "report(defio.BACKEND, defio.MAX_INSTANCES, defio.MAX_PAGES)")
    backend, ninst, npages = vals[0]
    return {"backend": backend, "regions": ninst, "pages": npages}


def test_every_other_page_superset_then_exact_after_flush(target, board):
    # 48 pages, every other one written: on PMSAv8 that wants 24 splits, more than any board
    # has regions. Every written page is reported; the extra pages (PMSAv8 only) are pages
    # opened by the fallback. Then no write is lost: rewriting everything faults no more
    # (every page is open), and after the flush each page faults once again.
    n = min(48, board["pages"])
    vals, _ = run(target.run, f"""
d = defio.DeferredIO({n} * P, record, delay_ms=100000)
b = d.buffer
written = list(range(0, {n}, 2))
for p in written:
    b[p * P + 7] = p
pend = d.pending()
f1 = d.stats()["faults"]
for p in pend:
    b[p * P + 8] = 1        # open pages: no fault
f2 = d.stats()["faults"]
d.flush()
for p in range({n}):
    b[p * P] = 1            # after the flush: one fault per page, all reported
report(pend, f1, f2, d.pending(), d.stats()["faults"] - f2, [b[p * P + 7] for p in written])
d.deinit()
""")
    pend, f1, f2, pend2, faults2, values = vals[0]
    written = list(range(0, n, 2))
    assert set(written) <= set(pend)
    assert f2 == f1
    assert pend2 == list(range(n))
    assert values == written
    if board["backend"] != "mpu-pmsav8":
        assert pend == written and f1 == len(written)
    else:
        # One fault per written page, plus nothing for the pages the fallback opened.
        assert f1 == len(written)
        assert len(pend) < n
        # After the flush the instance is one interval again: each page faulted once.
    assert faults2 == n


def test_splits_are_exact_while_regions_last(target, board):
    # A few writes in the middle of one instance: on PMSAv8 each takes one more region
    # (intervals [0,3) [4,5) [6,10) [11,16)), fewer than any board has: exactly these pages.
    if board["regions"] < 4:
        pytest.skip("needs 4 free MPU regions")
    vals, _ = run(target.run, """
d = defio.DeferredIO(16 * P, record, delay_ms=100000)
b = d.buffer
for p in (5, 10, 3):
    b[p * P + 1] = 1
a = d.pending()
b[4 * P] = 1                # a one-page interval: opened by switching its region off
b[15 * P + P - 1] = 1       # the end of an interval
report(a, d.pending(), d.stats()["faults"])
d.flush()
report(log)
d.deinit()
""")
    assert vals == [([3, 5, 10], [3, 4, 5, 10, 15], 5), [[3, 4, 5, 10, 15]]]


def test_new_instance_takes_a_region_from_a_split_one(target, board):
    # One instance split into as many intervals as there are regions, then every other
    # instance slot filled: each new instance still gets its region (taken from the split
    # instance, whose pages in it are then marked dirty), up to MAX_INSTANCES.
    if board["backend"] != "mpu-pmsav8":
        pytest.skip("PMSAv8 only: with subregions an instance's regions are fixed at creation")
    k = board["regions"]
    vals, _ = run(target.run, f"""
d = defio.DeferredIO(min(64, defio.MAX_PAGES) * P, record, delay_ms=100000)
b = d.buffer
for p in range(1, min(64, defio.MAX_PAGES) - 1, 3):
    b[p * P] = 1
before = set(d.pending())
others = [defio.DeferredIO(P, record, delay_ms=100000) for i in range({k} - 1)]
for o in others:
    o.buffer[0] = 1
after = set(d.pending())
report(before <= after, [o.pending() for o in others] == [[0]] * ({k} - 1))
for o in others:
    o.deinit()
d.deinit()
""")
    assert vals == [(True, True)]
