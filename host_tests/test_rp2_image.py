"""The rp2 firmware images, checked on the host: no chip, no emulator.

`make test-rp2` builds build/RPI_PICO/firmware.uf2 and build/RPI_PICO2/firmware.uf2 from this
tree (MicroPython's own rp2 port, our board folders, defio through USER_C_MODULES) before it
runs this file, so a pass means both images build. Then, for each image:
  - the UF2 is well formed for its chip (RP2040 family 0xe48bff56, RP2350 ARM secure
    0xe48bff59), block by block, and its payload is exactly the ELF's flash contents;
  - defio is in it with the chip's backend (the string defio.BACKEND returns);
  - the boot path installs the fault handler at run time: main() calls defio_rp2_init, which
    calls pico-sdk's exception_set_exclusive_handler with defio's handlers (HardFault; and
    MemManage's short entry on RP2350, which it enables); the handlers are linked into RAM;
  - the poll goes through upstream's PendSV dispatch (also when the soft timer expires),
    soft reset reaches defio, and the
    _thread / defio turn-taking wraps are the only callers of what they wrap;
  - the frozen modules (our lib/, Adafruit's packages, the font) are in the image;
  - the pool and the RAM left for the MicroPython heap (printed; -s shows them).
Nothing here runs the firmware: the fault paths themselves are exercised in QEMU by the
MPS2 boards (AN385_V6M for pmsav6, AN505 for pmsav8), and on silicon only by hand (README,
"Flash to a board").
"""

import ast
import pathlib
import re
import struct
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
PICOTOOL = ROOT / "deps" / "picotool" / "bin" / "picotool"

UF2_MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)
UF2_FLAG_FAMILY = 0x2000
# picotool puts one block of this family first in RP2350 images (RP2350-E10 workaround).
RP2350_ABSOLUTE_FAMILY = 0xE48BFF57

BOARDS = {
    "RPI_PICO": {"family": 0xE48BFF56, "backend": "mpu-pmsav6", "pool": 32768,
                 "heap_min": 200 * 1024, "chip": "rp2040"},
    "RPI_PICO2": {"family": 0xE48BFF59, "backend": "mpu-pmsav8", "pool": 65536,
                  "heap_min": 400 * 1024, "chip": "rp2350-arm-s"},
}

FROZEN = ["board", "busio", "digitalio", "analogio", "panel_link", "defio_epd", "defio_epd/live",
          "defio_epd/ssd1680", "defio_epd/uc8151d", "adafruit_epd", "adafruit_epd/epd",
          "adafruit_epd/ssd1680", "adafruit_epd/uc8151d", "adafruit_framebuf",
          "adafruit_bus_device/spi_device", "defio_font5x8", "asyncio", "_boot", "rp2"]


@pytest.fixture(scope="module", params=sorted(BOARDS))
def image(request):
    board = request.param
    uf2 = BUILD / board / "firmware.uf2"
    elf = BUILD / board / "firmware.elf"
    assert uf2.exists() and elf.exists(), f"{uf2} is missing: run make test-rp2"
    return board, BOARDS[board], uf2.read_bytes(), elf


def uf2_blocks(data):
    assert len(data) % 512 == 0
    for off in range(0, len(data), 512):
        block = data[off:off + 512]
        m0, m1, flags, addr, size, blockno, nblocks, family = struct.unpack_from("<8I", block)
        (end,) = struct.unpack_from("<I", block, 508)
        assert (m0, m1, end) == UF2_MAGIC, f"bad magic in block at {off}"
        assert flags & UF2_FLAG_FAMILY, "family ID flag missing"
        yield addr, blockno, nblocks, family, block[32:32 + size]


def uf2_payload(data, family):
    """{address: bytes} of the blocks of `family`, after checking their numbering."""
    blocks = [b for b in uf2_blocks(data) if b[3] == family]
    assert blocks, f"no block of family {family:#x}"
    for i, (_, blockno, nblocks, _, payload) in enumerate(blocks):
        assert blockno == i and nblocks == len(blocks)
        assert len(payload) == 256
    return {addr: payload for addr, _, _, _, payload in blocks}


def flat(payload):
    """The payload as one byte string from its lowest address (blocks must be contiguous)."""
    addrs = sorted(payload)
    assert addrs == list(range(addrs[0], addrs[0] + 256 * len(addrs), 256)), "gap in the uf2"
    return addrs[0], b"".join(payload[a] for a in addrs)


def elf_flash_segments(path):
    """PT_LOAD segments of an ELF32 whose load address is in flash (XIP, 0x10000000)."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 1 and data[5] == 1, "not an ELF32 LE"
    phoff, = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    for i in range(phnum):
        ptype, offset, _, paddr, filesz, _, _, _ = struct.unpack_from(
            "<8I", data, phoff + i * phentsize)
        if ptype == 1 and filesz and 0x10000000 <= paddr < 0x20000000:
            yield paddr, data[offset:offset + filesz]


def tool(*args):
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def symbols(elf):
    """name -> (address, size) from arm-none-eabi-nm."""
    out = {}
    for line in tool("arm-none-eabi-nm", "-S", str(elf)).splitlines():
        parts = line.split()
        if len(parts) == 4:
            out[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
        elif len(parts) == 3:
            out[parts[2]] = (int(parts[0], 16), 0)
    return out


def disassembly(elf, function):
    return tool("arm-none-eabi-objdump", "-d", f"--disassemble={function}", str(elf))


# A call or a tail call: bl, blx, b, b.w, b.n.
BRANCH = r"\bb(?:lx?)?(?:\.[wn])?\s+[0-9a-f]+\s+"


def calls(asm, callee):
    return re.findall(rf"{BRANCH}<{re.escape(callee)}>", asm)


def test_uf2_family_and_layout(image):
    board, want, data, _ = image
    families = {}
    for addr, _, _, family, _ in uf2_blocks(data):
        families.setdefault(family, []).append(addr)
    extra = set(families) - {want["family"]}
    if board == "RPI_PICO2":
        # Allowed: picotool's single absolute block, outside the image, nothing else.
        assert extra <= {RP2350_ABSOLUTE_FAMILY}
        assert len(families.get(RP2350_ABSOLUTE_FAMILY, [])) <= 1
    else:
        assert not extra, f"unexpected families {[hex(f) for f in extra]}"
    base, _ = flat(uf2_payload(data, want["family"]))
    assert base == 0x10000000


def test_uf2_payload_is_the_elf_flash_image(image):
    _, want, data, elf = image
    base, blob = flat(uf2_payload(data, want["family"]))
    segments = list(elf_flash_segments(elf))
    assert segments
    for paddr, content in segments:
        start = paddr - base
        assert blob[start:start + len(content)] == content, f"segment at {paddr:#x} differs"
    end = max(p + len(c) for p, c in segments) - base
    assert len(blob) - end < 256, "the uf2 carries more than the ELF's flash contents"


def test_picotool_reads_the_chip(image):
    board, want, _, _ = image
    info = tool(str(PICOTOOL), "info", "-a", str(BUILD / board / "firmware.uf2"))
    assert f"family ID '{want['chip']}'" in info
    assert re.search(r"version:\s+v1\.25\.0\n", info), "not MicroPython v1.25.0"


def test_defio_backend_in_the_image(image):
    _, want, data, _ = image
    _, blob = flat(uf2_payload(data, want["family"]))
    backends = {"mpu-pmsav6", "mpu-pmsav7", "mpu-pmsav8", "mprotect"}
    present = {b for b in backends if (b + "\0").encode() in blob}
    assert present == {want["backend"]}


def test_fault_handler_installed_at_boot(image):
    board, _, _, elf = image
    syms = symbols(elf)
    assert calls(disassembly(elf, "main"), "defio_rp2_init"), "main() does not call it"
    # Which exceptions: the r0 argument set before each call (HardFault 3, MemManage 4).
    installed, r0 = [], None
    for line in disassembly(elf, "defio_rp2_init").splitlines():
        m = re.search(r"\bmovs?\s+r0, #(\d+)", line)
        if m:
            r0 = int(m.group(1))
        elif calls(line, "exception_set_exclusive_handler"):
            installed.append(r0)
    assert installed == ([3, 4] if board == "RPI_PICO2" else [3])
    # ... and which handlers: their addresses (Thumb bit set) in defio_rp2_init's literals.
    literals = {int(w, 16) for w in re.findall(r"\.word\s+0x([0-9a-f]+)",
                                                disassembly(elf, "defio_rp2_init"))}
    handlers = ["defio_mcu_fault_handler"]
    if board == "RPI_PICO2":
        handlers.append("defio_mcu_memmanage_handler")
    for name in handlers:
        assert syms[name][0] | 1 in literals, f"{name} is not what defio_rp2_init installs"
    if board == "RPI_PICO2":
        # MemManage is enabled: SCB (0xe000ed00) + 0x24 is SHCSR, bit 16 MEMFAULTENA.
        init = disassembly(elf, "defio_rp2_init")
        assert "0xe000ed00" in init and "#36]" in init and "#65536" in init
    # The handler and its decoder run from RAM (flash XIP may be busy).
    for name in handlers:
        addr, _ = syms[name]
        assert 0x20000000 <= addr < 0x20082000, f"{name} at {addr:#x}, not in SRAM"


def test_poll_soft_reset_and_thread_wraps_wired(image):
    _, _, _, elf = image
    assert calls(disassembly(elf, "defio_mcu_hook_poll_soon"), "pendsv_schedule_dispatch")
    assert calls(disassembly(elf, "defio_mcu_hook_poll_later"), "soft_timer_insert") or \
        calls(disassembly(elf, "defio_mcu_hook_poll_later"), "soft_timer_remove")
    # The expired timer hands over to the PendSV slot: a poll run inside upstream's
    # soft_timer_handler could not re-arm the timer (the handler rewrites the heap).
    timer_cb = disassembly(elf, "defio_rp2_timer_cb")
    assert not calls(timer_cb, "defio_mcu_poll")
    assert calls(timer_cb, "defio_mcu_hook_poll_soon") or \
        calls(timer_cb, "pendsv_schedule_dispatch")
    main = disassembly(elf, "main")
    assert calls(main, "defio_rp2_soft_reset"), "soft reset does not reach defio"
    asm = tool("arm-none-eabi-objdump", "-d", str(elf))
    for wrapped in ("mp_thread_create", "mp_thread_finish", "defio_backend_attach",
                    "defio_backend_detach"):
        callers = set()
        current = None
        for line in asm.splitlines():
            m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
            if m:
                current = m.group(1)
            elif calls(line, wrapped):
                callers.add(current)
        assert callers == {f"__wrap_{wrapped}"}, f"{wrapped} called from {callers}"


def test_frozen_modules(image):
    board, want, data, _ = image
    info = tool(str(PICOTOOL), "info", "-a", str(BUILD / board / "firmware.uf2"))
    listed = info.split("frozen modules:", 1)[1].split("binary start:", 1)[0]
    names = {n.strip() for n in listed.replace("\n", " ").split(",")}
    missing = [m for m in FROZEN if m not in names]
    assert not missing, f"not frozen: {missing}"
    # The font's glyphs (from the same generator as build/pylib) are in the flash image.
    font = (BUILD / "pylib" / "font5x8.bin").read_bytes()
    _, blob = flat(uf2_payload(data, want["family"]))
    assert font[2 + 5 * 33:2 + 5 * 127] in blob, "font5x8 glyphs not in the image"


def test_ram_pool_and_heap(image):
    board, want, _, elf = image
    syms = symbols(elf)
    pool_addr, pool_size = syms["defio_pool"]
    assert pool_size == want["pool"]
    bss = syms["__bss_start__"][0], syms["__bss_end__"][0]
    assert bss[0] <= pool_addr and pool_addr + pool_size <= bss[1]
    heap = syms["__GcHeapEnd"][0] - syms["__GcHeapStart"][0]
    print(f"{board}: pool {pool_size} B at {pool_addr:#x}, GC heap {heap} B")
    assert heap >= want["heap_min"]


def test_board_py_names_the_epd_pins():
    for board in BOARDS:
        tree = ast.parse((ROOT / "boards" / board / "board.py").read_text())
        names = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name)}
        assert {"SCK", "MOSI", "MISO", "EPD_CS", "EPD_DC", "EPD_RESET", "EPD_BUSY"} <= names
