"""The e-paper soak, short: random drawing, flushes, re-attaches and injected panel faults
(power loss, new panel, lost and corrupt frames and replies, stuck BUSY, dropped links); at the
end of every round the panel shows and holds exactly the app's image. The long one:
tools/soak/epd.py (make soak)."""

import pytest

from tools.soak import epd as soak_epd

pytest.register_assert_rewrite("epd_harness")
pytest_plugins = ("epd_harness",)


def summary(r):
    return (f"{r['line']}\nfaults {r['faults']}, device {r['device']}, bad marks "
            f"{r['bad_marks']}\n--- device output (tail) ---\n{r['out'][-3000:]}{r['err']}")


@pytest.mark.parametrize("controller, seed", [("ssd1680", 9001), ("uc8151d", 9002)])
def test_short_soak_every_round_shows_the_apps_image(target, pylib, tmp_path, controller,
                                                     seed):
    rounds = 40 if target.name == "unix" else 25
    r = soak_epd.soak(target, rounds, seed, controller, tmp_path, fault_percent=12,
                      log=lambda *a, **k: None)
    assert r["ok"], summary(r)
    assert r["rounds"] == rounds and r["wrong"] == 0 and r["ram_wrong"] == 0
    assert sum(r["faults"].values()) >= 3, summary(r)  # the faults did happen
    assert r["line"] == f"soak-epd: {rounds} rounds, {r['refreshes']} refreshes, 0 wrong " \
                       f"images, seed {seed}"


def test_the_soak_sees_a_wrong_image(target, pylib, tmp_path):
    # Round 3's panel image is spoilt behind the protocol's back (same epoch, no error):
    # only the image check can see it, and it must.
    r = soak_epd.soak(target, 5, 7, "ssd1680", tmp_path, fault_percent=0, scribble_round=3,
                      log=lambda *a, **k: None)
    assert not r["ok"]
    labels = [m["label"] for m in r["bad_marks"]]  # (until the app redraws that spot)
    assert labels[0] == 3 and r["wrong"] == len(labels), summary(r)
    assert r["line"].endswith(f"{len(labels)} wrong images, seed 7")
    assert (tmp_path / "wrong-3.png").exists()
