"""The demo runner on the Unix board: both runs, the figures, the same final image."""

import json

import pytest

pytest.register_assert_rewrite("epd_harness")

pytest_plugins = ("epd_harness",)

from tools import run_demo


def test_run_demo_writes_png_json_and_beats_naive(tmp_path, pylib, target):
    # On --target qemu, run_demo boots its own QEMU (the board of `make run`).
    result = run_demo.main(["--board", target.name, "--out", str(tmp_path), "--seconds", "4",
                            "--tick-ms", "100", "--time-scale", "0.02"])
    saved = json.loads((tmp_path / "panel.json").read_text())
    for key in ("bytes", "refreshes", "partial_refreshes", "full_refreshes", "naive_bytes",
                "naive_refreshes"):
        assert saved[key] == result[key]
    assert saved["same_final_image_as_naive"] is True
    assert saved["bytes"] < saved["naive_bytes"]
    assert saved["refreshes"] <= saved["naive_refreshes"]
    assert saved["panel_errors"] == [] and saved["link_errors"] == []
    assert (tmp_path / "panel.png").exists() and (tmp_path / "naive" / "panel.png").exists()


def test_run_any_app(tmp_path, pylib, target):
    app = tmp_path / "app.py"
    app.write_text(
        "import board, digitalio, defio_epd\n"
        "from adafruit_epd.ssd1680 import Adafruit_SSD1680\n"
        "from adafruit_epd.epd import Adafruit_EPD as E\n"
        "p = digitalio.DigitalInOut\n"
        "d = Adafruit_SSD1680(122, 250, board.SPI(), cs_pin=p(board.EPD_CS),\n"
        "    dc_pin=p(board.EPD_DC), sramcs_pin=None, rst_pin=p(board.EPD_RESET),\n"
        "    busy_pin=p(board.EPD_BUSY))\n"
        "d.fill(E.WHITE); d.text('any app', 10, 10, E.BLACK); d.display()\n")
    result = run_demo.main(["--board", target.name, "--app", str(app), "--out",
                            str(tmp_path / "out"),
                            "--time-scale", "0.02"])
    assert result["refreshes"] == 1 and "naive_bytes" not in result
    assert (tmp_path / "out" / "panel.png").exists()
