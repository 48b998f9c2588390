"""lib/package.json: lists every on-device file and installs with `mpremote mip install`."""

import json

import pytest

pytest.register_assert_rewrite("epd_harness")
from epd_harness import ROOT

LIB = ROOT / "lib"


def test_package_json_lists_every_lib_file():
    pkg = json.loads((LIB / "package.json").read_text())
    listed = {dest for dest, _ in pkg["urls"]}
    assert all(src == dest for dest, src in pkg["urls"])  # relative: next to package.json
    on_disk = {p.relative_to(LIB).as_posix() for p in LIB.rglob("*.py")
               if "__pycache__" not in p.parts}
    assert listed == on_disk


def test_mip_install_on_the_board(target):
    if target.name != "qemu":
        pytest.skip("mpremote talks to the board: run with --target qemu")
    r = target.mpremote("mip", "install", "--target", "/mip_lib", "lib/package.json")
    assert r.returncode == 0, r.stderr
    res = target.run("import sys\nsys.path.insert(0, '/mip_lib')\n"
                     "import defio_epd, panel_link, board\n"
                     "print(defio_epd.__file__, board.EPD_CS)\n")
    assert res.out.startswith("/mip_lib/defio_epd/__init__.py board.D9"), res
