"""Every 16-bit Thumb store the ARMv6-M fault path decodes, executed into defio memory.

Each case is raw Thumb code (inline assembler `data()`), so the exact encoding runs: register
and immediate forms, byte/half/word, STR to SP+imm (with SP 8-byte aligned and not, which
changes the stacked frame), STM inside a page and across a page boundary (both pages clean,
or only the second one). The test checks the pages marked and the bytes stored (the store
re-executed after the fault).

On MPS2_AN385_V6M (mpu-pmsav6: ARMv6-M code on QEMU's Cortex-M3) the HardFault handler
decodes the store and, built with DEFIO_MCU_CHECK_DECODER, checks the decoded range against
the MMFAR the Cortex-M3 reports: a wrong address is not handled (crash dump, returncode -1),
and `defio_mcu_decoder_checks` (read through machine.mem32 at the address the ELF gives)
counts the checks that passed. On the other boards the same stores take MemManage (MMFAR):
the same expectations hold.
"""

import pathlib
import subprocess

import pytest
from mpscript import run

ROOT = pathlib.Path(__file__).resolve().parent.parent

# STM r5!, {r1, r2, r3, r6}, all four holding the value.
STM4 = "add(r5, r0, r1)\nmov(r1, r2)\nmov(r3, r2)\nmov(r6, r2)\ndata(2, 0xc000 | (5 << 8) | 0x4e)"

# asm: r0 = buffer address, r1 = offset, r2 = value. Each case: (name, body, pages before
# the store that are already open, expected pages, (offset, size, value) stored).
CASES = [
    # STR r2, [r5, #124]
    ("str_imm", "add(r5, r0, r1)\ndata(2, 0x6000 | (31 << 6) | (5 << 3) | 2)",
     1 * 1024 - 4, [], [1], (1024 + 120, 4, 0x11223344)),
    # STRH r2, [r3, #14]
    ("strh_imm", "add(r3, r0, r1)\ndata(2, 0x8000 | (7 << 6) | (3 << 3) | 2)",
     2 * 1024 + 2, [], [2], (2 * 1024 + 16, 2, 0x3344)),
    # STRB r2, [r7, #31]
    ("strb_imm", "add(r7, r0, r1)\ndata(2, 0x7000 | (31 << 6) | (7 << 3) | 2)",
     3 * 1024 - 1, [], [3], (3 * 1024 + 30, 1, 0x44)),
    # STR r2, [r4, r6]
    ("str_reg", "mov(r4, r0)\nmov(r6, r1)\ndata(2, 0x5000 | (6 << 6) | (4 << 3) | 2)",
     1024 + 512, [], [1], (1024 + 512, 4, 0x11223344)),
    # STRH r2, [r0, r1]
    ("strh_reg", "data(2, 0x5200 | (1 << 6) | (0 << 3) | 2)",
     2 * 1024 + 6, [], [2], (2 * 1024 + 6, 2, 0x3344)),
    # STRB r2, [r1, r3] with r1 = buffer + offset, r3 = 5
    ("strb_reg", "add(r1, r0, r1)\nmov(r3, 5)\ndata(2, 0x5400 | (3 << 6) | (1 << 3) | 2)",
     3 * 1024 + 1000, [], [3], (3 * 1024 + 1005, 1, 0x44)),
    # STM r5!, {r1, r2} inside page 1
    ("stm_one_page", "add(r5, r0, r1)\nmov(r1, r2)\ndata(2, 0xc000 | (5 << 8) | 0x06)",
     1024 + 64, [], [1], (1024 + 64, 8, 0x1122334411223344)),
    # STM r5!, {r1, r2, r3, r6}: 8 bytes at the end of page 0, 8 at the start of page 1
    ("stm_two_pages", STM4,
     1024 - 8, [], [0, 1], (1024 - 8, 16, 0x11223344112233441122334411223344)),
    # The same with page 0 already open: the fault is on page 1 only.
    ("stm_second_page", STM4,
     1024 - 8, [0], [0, 1], (1024 - 8, 16, 0x11223344112233441122334411223344)),
]

# STR r2, [SP, #8] with SP moved into defio memory (IRQs masked; page 1, below the new SP,
# is open, so the exception frame and the handler's stack land there). SP 8-byte aligned,
# then off by 4 (the core aligns the frame and flags it in xPSR bit 9).
SP_BODY = """
data(2, 0xb672)        # cpsid i
mov(r4, sp)
add(r5, r0, r1)
mov(sp, r5)
data(2, 0x9000 | (2 << 8) | 2)
mov(sp, r4)
data(2, 0xb662)        # cpsie i
"""
CASES += [
    ("str_sp_aligned", SP_BODY, 2 * 1024, [1], [1, 2], (2 * 1024 + 8, 4, 0x11223344)),
    ("str_sp_unaligned", SP_BODY, 2 * 1024 + 4, [1], [1, 2], (2 * 1024 + 12, 4, 0x11223344)),
]


def script(body, offset, open_pages, stored, check_addr):
    at, size, _value = stored
    lines = "\n".join("    " + line for line in body.strip().splitlines())
    return f"""
import machine, micropython
@micropython.asm_thumb
def store(r0, r1, r2):
{lines}
def checks():
    return machine.mem32[{check_addr}] if {check_addr} else 0
d = defio.DeferredIO(4 * 1024, record, delay_ms=100000, page_size=1024)
b = d.buffer
for p in {open_pages!r}:
    b[p * 1024 + 1000] = 0
c0 = checks()
f0 = d.stats()["faults"]
store(b, {offset}, 0x11223344)
got = int.from_bytes(bytes(b[{at}:{at + size}]), "little")
report(got, d.pending(), d.stats()["faults"] - f0, checks() - c0)
d.deinit()
"""


def symbol(board, name):
    """Address of `name` in the board's firmware.elf (0 when it has none)."""
    elf = ROOT / "build" / board / "firmware.elf"
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    return 0


@pytest.fixture(scope="module")
def board(target):
    if target.name != "qemu":
        pytest.skip("firmware only: run with --target qemu")
    vals, _ = run(target.run, "report(defio.PAGE_SIZE_MIN)")
    if vals[0] > 1024:
        pytest.skip("the cases use 1 KiB pages")
    return target.board


@pytest.mark.parametrize(("name", "body", "offset", "open_pages", "pages", "stored"),
                         CASES, ids=[c[0] for c in CASES])
def test_store_encoding(target, board, name, body, offset, open_pages, pages, stored):
    check_addr = symbol(board, "defio_mcu_decoder_checks")
    if board.endswith("_V6M"):
        assert check_addr, "the ARMv6-M board is built with DEFIO_MCU_CHECK_DECODER"
    vals, _ = run(target.run, script(body, offset, open_pages, stored, check_addr))
    got, pending, faults, checks = vals[0]
    assert got == stored[2]
    assert pending == pages
    new_pages = len([p for p in pages if p not in open_pages])
    assert faults == new_pages
    if check_addr:
        # One HardFault per store, decoded and matched against MMFAR: the decoder opens every
        # clean page the store covers at once (an STM across two pages included).
        assert checks == 1


def test_decoder_counter_is_visible(target, board):
    # The check is real: on the ARMv6-M board the counter exists and moves with faults.
    addr = symbol(board, "defio_mcu_decoder_checks")
    if not board.endswith("_V6M"):
        assert addr == 0
        return
    vals, _ = run(target.run, f"""
import machine
a = machine.mem32[{addr}]
d = defio.DeferredIO(2 * P, record, delay_ms=100000)
d.buffer[0] = 1
d.buffer[P] = 1
report(machine.mem32[{addr}] - a)
""")
    assert vals == [2]
