"""pytest set-up: run MicroPython scripts on a target and collect what they print.

One suite, several targets: `--target unix` (default) runs build/unix/micropython;
`--target qemu` runs the firmware in qemu-system-arm through mpremote (targets.py).
"""

import pytest
from targets import make_target


def pytest_addoption(parser):
    parser.addoption("--target", default="unix", choices=("unix", "qemu"),
                     help="where the MicroPython scripts run")
    parser.addoption("--board", default="MPS2_AN385",
                     help="with --target qemu: the board folder (MPS2_AN385, MPS2_AN385_V6M, "
                          "MPS2_AN505)")


@pytest.fixture(scope="session")
def target(request):
    t = make_target(request.config.getoption("--target"), request.config.getoption("--board"))
    yield t
    t.close()


@pytest.fixture
def mp(target):
    """Run a MicroPython script on the target: mp(src, timeout=30) -> Result."""
    return target.run
