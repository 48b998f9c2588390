"""Which panel an app drives, read from its source (Python `ast`), never run.

`detect(source)` finds the Adafruit driver the app constructs in code (comments and string
literals do not count), the width and height it passes, the pins it passes as cs, dc, sramcs,
rst and busy (followed through `name = digitalio.DigitalInOut(board.D9)`), and the last
`<display>.rotation = N`. A subclass of an Adafruit driver defined in the app counts as that
driver. The panel key is the class name without `Adafruit_`, lower case (the simulator's
CONTROLLERS keys). It raises `DetectError` with one line when it cannot tell (no driver, more
than one, a size that is not a number literal...).
"""

import ast
import dataclasses
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
BOARD_PY = ROOT / "lib" / "board.py"
PIN_ARGS = ("cs_pin", "dc_pin", "sramcs_pin", "rst_pin", "busy_pin")  # after width, height, spi
SIGNAL = {"cs_pin": "cs", "dc_pin": "dc", "sramcs_pin": "sram", "rst_pin": "rst",
          "busy_pin": "busy"}
UNWIRED = 200  # link pin numbers from here on: a signal the app leaves unconnected


class DetectError(ValueError):
    """The app's panel cannot be told from its source (one line)."""


@dataclasses.dataclass
class AppPanel:
    driver: str              # the Adafruit class, e.g. "Adafruit_SSD1680"
    key: str                 # the simulator's panel key, e.g. "ssd1680"
    size: tuple | None       # (width, height) as passed to the constructor
    pins: dict               # signal -> board pin name, or None (not connected)
    rotation: int            # the app's display.rotation (0 when it sets none)
    target: str | None = None  # the name the display is assigned to (display = ...)
    end_line: int | None = None  # the last line of that statement (module level only)

    def wiring(self, board_pins=None):
        """The simulator's wiring: signal -> link pin number (unconnected: unused numbers)."""
        numbers = board_pins or board_pin_numbers()
        out = {}
        for i, (signal, name) in enumerate(sorted(self.pins.items())):
            out[signal] = numbers[name] if name is not None else UNWIRED + i
        return out


def board_pin_numbers(path=BOARD_PY):
    """lib/board.py's pins: name -> link number (`D9 = Pin(9, "D9")`, `EPD_CS = D9`)."""
    out = {}
    for node in ast.parse(path.read_text()).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                and value.func.id == "Pin" and isinstance(value.args[0], ast.Constant)):
            out[name] = value.args[0].value
        elif isinstance(value, ast.Name) and value.id in out:
            out[name] = out[value.id]
    return out


def _const_int(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    return None


def _board_pin(node, assigned):
    """board.X (through names and DigitalInOut(...)) -> "X"; None literal -> None."""
    for _ in range(10):
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        if isinstance(node, ast.Name) and node.id in assigned:
            node = assigned[node.id]
            continue
        if isinstance(node, ast.Call) and node.args:  # DigitalInOut(board.D9)
            node = node.args[0]
            continue
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "board"):
            return node.attr
        break
    raise DetectError(f"a pin that is not board.NAME: {ast.unparse(node)}")


def detect(source, filename="app"):
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as e:
        raise DetectError(f"{filename}: {e}") from None
    drivers = {}  # local name -> Adafruit class name
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("adafruit_epd"):
            for a in node.names:
                if a.name.startswith("Adafruit_") and a.name not in ("Adafruit_EPD",):
                    drivers[a.asname or a.name] = a.name
    changed = True
    while changed:  # subclasses defined in the app (class Wing(Adafruit_SSD1680_...))
        changed = False
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name not in drivers:
                for base in node.bases:
                    if isinstance(base, ast.Name) and base.id in drivers:
                        drivers[node.name] = drivers[base.id]
                        changed = True
                        break
    assigned = {}  # module-level `name = value` (the last one wins, as the app runs)
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            t = node.targets[0]
            if isinstance(t, ast.Name):
                assigned[t.id] = node.value
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in drivers):
            calls.append(node)
    if not calls:
        raise DetectError(f"{filename}: constructs no adafruit_epd driver")
    classes = sorted({drivers[c.func.id] for c in calls})
    if len(classes) > 1:
        raise DetectError(f"{filename}: constructs more than one driver ({', '.join(classes)})")
    call = calls[0]
    args = {k.arg: k.value for k in call.keywords if k.arg}
    names = ("width", "height", "spi") + PIN_ARGS
    for name, value in zip(names, call.args):
        args.setdefault(name, value)
    size = None
    if "width" in args and "height" in args:
        w, h = _const_int(args["width"]), _const_int(args["height"])
        if w is None or h is None:
            raise DetectError(f"{filename}: the size is not two numbers "
                              f"({ast.unparse(args['width'])}, {ast.unparse(args['height'])})")
        size = (w, h)
    pins = {}
    for arg in PIN_ARGS:
        pins[SIGNAL[arg]] = _board_pin(args[arg], assigned) if arg in args else None
    board = board_pin_numbers()
    for signal, name in pins.items():
        if name is not None and name not in board:
            raise DetectError(f"{filename}: board.{name} ({signal}) is not a pin of the "
                              "simulated board")
    rotation = 0
    target, end_line = _target_of(tree, call)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Attribute)
                and node.targets[0].attr == "rotation"
                and isinstance(node.targets[0].value, ast.Name)
                and (target is None or node.targets[0].value.id == target)
                and _const_int(node.value) is not None):
            rotation = _const_int(node.value) % 4
    cls = drivers[call.func.id]
    return AppPanel(cls, cls[len("Adafruit_"):].lower(), size, pins, rotation, target,
                    end_line)


def _target_of(tree, call):
    """(name, last line) of `name = Driver(...)`: the line only for a module-level statement."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.value is call and isinstance(
                node.targets[0], ast.Name):
            top = node in tree.body
            return node.targets[0].id, node.end_lineno if top else None
    return None, None


def parse_panel(text):
    """PANEL=key[:WIDTHxHEIGHT] -> (key, size or None); ValueError with one line."""
    key, _, size = text.partition(":")
    if not size:
        return key.strip().lower(), None
    w, sep, h = size.lower().partition("x")
    if not (sep and w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0):
        raise ValueError(f"PANEL={text}: the size is WIDTHxHEIGHT, e.g. ssd1681:200x200")
    return key.strip().lower(), (int(w), int(h))
