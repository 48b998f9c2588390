"""pytest set-up: run MicroPython scripts on a target and collect what they print.

One suite, several targets: `--target unix` (default) runs build/unix/micropython;
`--target qemu` runs the firmware in qemu-system-arm through mpremote (targets.py).
"""

import pytest
from targets import make_target


def pytest_addoption(parser):
    parser.addoption("--target", default="unix", choices=("unix", "qemu"),
                     help="where the MicroPython scripts run")


@pytest.fixture(scope="session")
def target(request):
    t = make_target(request.config.getoption("--target"))
    yield t
    t.close()


@pytest.fixture
def mp(target):
    """Run a MicroPython script on the target: mp(src, timeout=30) -> Result."""
    return target.run
