"""The rooms of redisai_module and their doors (README, "How it is built").

The core is one Cython compilation unit, so the compiler lets any file call any function. The
folders are rooms: each room's `.pxd` (all included by redisai_core.pxd) declares what other rooms
may use, and calls go one way only. This test reads the sources: a file that uses another room's
module-level function or global must be allowed into that room (ROOM_MAY_USE) and the name must be
one of that room's doors; every door a `.pxd` declares must exist in its room.
"""
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "redisai_module"

# Top-level files belong to the room the table names; a file in a folder to its folder's room.
TOP_LEVEL_ROOM = {
    "errors.pxi.in": "base", "error_values.pyx": "base", "cstrings.pyx": "base", "config.pyx": "base",
    "debug.pyx": "debug", "server_info.pyx": "server_info", "live_info.pyx": "server_info", "redisai_core.pyx": "map",
}
# Where each room's doors are declared.
DOORS_FILE = {
    "base": "base.pxd", "objects": "objects/objects.pxd", "backends": "backends/backends.pxd",
    "execution": "execution/execution.pxd", "serialization": "serialization/serialization.pxd",
    "commands": "commands/commands.pxd", "llapi": "llapi/llapi.pxd",
}
# The direction of calls. base (error strings, settings, the C-string copy) is what every room
# reads, so it calls nobody. Objects are what keys hold; backends load and run them, serialization
# encodes them, both without knowing who asks. Execution runs them on the workers through the
# backends. Types are the Redis type callbacks, which (de)serialize values. Commands parse,
# queue runs and reply; the LLAPI sits beside them and shares their parsers. debug (AI._DEBUG) is
# a command; server_info (INFO MODULES) reports on every room below the commands and so sits
# with them. redisai_core.pyx is the map that includes the rest.
ROOM_MAY_USE = {
    "base": set(),
    "objects": {"base"},
    "backends": {"base", "objects"},
    "serialization": {"base", "objects"},
    "execution": {"base", "objects", "backends"},
    "types": {"base", "objects", "serialization"},
    "commands": {"base", "objects", "backends", "execution"},
    "llapi": {"base", "objects", "backends", "execution", "commands"},
    "debug": {"base", "objects", "commands"},
    "server_info": {"base", "objects", "backends", "execution"},
    "map": set(),
}
# Calls that go against the table on purpose; README's layout section names them with the reason.
EXCEPTIONS = {
    # A decoded model or script is loaded into its backend before it becomes a key's value, as in
    # RedisAI: the v0-v4 decoders end in runnable_load_finish, which needs it.
    ("serialization", "runnable_load_or_log"),
    # A model loaded from RDB gets its device's run queue, as after AI.MODELSTORE: the type's
    # rdb_load does it (not the decoder, so decoding starts no threads).
    ("types", "ensure_run_queue"),
}

FUNCTION = re.compile(r"^(?:cpdef|cdef|def)\b[^=\n]*?\b(\w+)\s*\(", re.M)
CDEF_GLOBAL = re.compile(r"^cdef\s+(?!class\b|struct\b|enum\b|extern\b|union\b|packed\b|inline\b|public\b)"
                         r"[\w\. ]+?[\s\*]+(\w+)\s*(?:\[[^\]\n]*\])*\s*(?:=.*)?$", re.M)
PY_GLOBAL = re.compile(r"^([A-Za-z_]\w*)\s*(?::\s*[\w\.]+\s*)?=(?!=)", re.M)
PYTHON_DOORS = re.compile(r"^#\s*python doors:\s*(.*)$", re.M)
EXTERN_BLOCK = re.compile(r"^cdef extern from [^\n]*:\n((?:[ \t]+[^\n]*\n|[ \t]*\n)*)", re.M)
EXTERN_ITEM = re.compile(r'(\w+)\s*(?:""\s*)?(?:\(|\[|$)')
ENUM_BLOCK = re.compile(r"^(?:cdef|cpdef) enum\b[^\n]*:\n((?:[ \t]+[^\n]*\n|[ \t]*\n)*)", re.M)
CLASS = re.compile(r"^(?:cdef )?class (\w+)", re.M)
INCLUDE = re.compile(r'^include "([^"]+)"', re.M)
PXD_FUNCTION = re.compile(r"^cdef\b[^=\n#]*?\b(\w+)\s*\(", re.M)


def room_of(rel):
    parts = Path(rel).parts
    return TOP_LEVEL_ROOM.get(parts[0], parts[0]) if len(parts) == 1 else parts[0]


# Cython sources that are not the core: extensions of their own, which the core never includes
# and which reach it only through src/native_runner.h.
OWN_EXTENSIONS = {"backends/torch_native.pyx"}


def source_files(root=ROOT):
    """Every Cython source the core includes: .pyx, .pxi and the Tempita templates (.pxi.in),
    not the .pxi rendered from one."""
    found = []
    for p in sorted(root.rglob("*")):
        name = p.name
        if name.endswith(".pxi") and p.with_name(name + ".in").exists():
            continue
        if str(p.relative_to(root)) in OWN_EXTENSIONS:
            continue
        if name.endswith((".pyx", ".pxi", ".pxi.in")):
            found.append(p)
    return found


def code_only(text):
    """The source without comments and string literals (docstrings, C code in extern blocks)."""
    out, last = [], (1, 0)
    lines = text.splitlines(keepends=True)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.COMMENT, tokenize.STRING):
                out.append(slice_text(lines, last, tok.start))
                out.append('""' if tok.type == tokenize.STRING else "")
                last = tok.end
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    out.append(slice_text(lines, last, (len(lines) + 1, 0)))
    return "".join(out)


def slice_text(lines, start, end):
    (r0, c0), (r1, c1) = start, end
    if r0 == r1:
        return lines[r0 - 1][c0:c1] if r0 <= len(lines) else ""
    return "".join([lines[r0 - 1][c0:]] + lines[r0:r1 - 1] + ([lines[r1 - 1][:c1]] if r1 <= len(lines) else []))


def extern_names(code):
    """What a file's `cdef extern from` blocks declare (C functions, variables, constants), not
    the fields of the structs they declare."""
    names = []
    for block in EXTERN_BLOCK.findall(code):
        lines = [line for line in block.splitlines() if line.strip()]
        indent = min((len(line) - len(line.lstrip()) for line in lines), default=0)
        for line in lines:
            m = EXTERN_ITEM.search(line)
            if m and len(line) - len(line.lstrip()) == indent and not line.lstrip().startswith(("ctypedef", "cdef", "pass")):
                names.append(m.group(1))
    return names


def enum_names(code):
    """The constants of a file's module-level enums."""
    return [name for block in ENUM_BLOCK.findall(code) for name in re.findall(r"^[ \t]+(\w+)", block, re.M)]


def definitions(sources):
    """name -> file (relative) of every module-level function, global, class and enum constant,
    and of what the file's extern blocks declare."""
    found = {}
    for rel, text in sources.items():
        code = code_only(text)
        names = FUNCTION.findall(code) + CDEF_GLOBAL.findall(code) + PY_GLOBAL.findall(code)
        names += extern_names(code) + enum_names(code) + CLASS.findall(code)
        for name in names:
            found.setdefault(name, rel)
    return found


def uses(text):
    """Identifiers a file uses: not attribute or field names (after a dot)."""
    return set(re.findall(r"(?<![\.\w])([A-Za-z_]\w*)\b", code_only(text)))


def doors(pxd_text):
    """What a room's .pxd declares (with the files it includes): its cdef functions and globals,
    its externs, and the def functions and Python globals (a .pxd cannot declare those) listed on
    `# python doors:` lines."""
    code = code_only(pxd_text)
    declared = set(PXD_FUNCTION.findall(code)) | set(CDEF_GLOBAL.findall(code)) | set(extern_names(code))
    declared |= set(enum_names(code))
    for line in PYTHON_DOORS.findall(pxd_text):
        declared |= set(re.findall(r"\w+", line))
    return declared


def violations(sources, pxds):
    """`file: name (room)` for each use of another room's name that the layering refuses.
    sources: relative path -> text; pxds: room -> .pxd text."""
    defined = definitions(sources)
    room_doors = {room: doors(text) for room, text in pxds.items()}
    found = []
    for rel, text in sources.items():
        room = room_of(rel)
        if room == "map":
            continue
        for name in sorted(uses(text)):
            where = defined.get(name)
            if where is None or room_of(where) == room:
                continue
            target = room_of(where)
            if target not in ROOM_MAY_USE[room] and (room, name) not in EXCEPTIONS:
                found.append(f"{rel}: {name} ({target}; {room} may not use it)")
            elif name not in room_doors.get(target, set()):
                found.append(f"{rel}: {name} ({target}; not a door of {DOORS_FILE.get(target, target)})")
    return sorted(found)


def read_sources(root=ROOT):
    return {str(p.relative_to(root)): p.read_text() for p in source_files(root)}


def with_includes(path):
    """A .pxd's text with the files it includes inlined (a rendered .pxi read as its template)."""
    if not path.exists():
        path = path.with_name(path.name + ".in")
    return INCLUDE.sub(lambda m: with_includes(path.parent / m.group(1)), path.read_text())


def read_pxds(root=ROOT):
    return {room: with_includes(root / path) for room, path in DOORS_FILE.items() if (root / path).exists()}


def test_every_call_between_rooms_goes_through_a_door_the_table_allows():
    assert violations(read_sources(), read_pxds()) == []


def test_every_room_has_its_doors_file_included_by_the_core_pxd():
    core = (ROOT / "redisai_core.pxd").read_text()
    for room, path in DOORS_FILE.items():
        assert (ROOT / path).exists(), f"{room}: {path} is missing"
        assert f'include "{path}"' in core, f"redisai_core.pxd does not include {path}"


def test_every_declared_door_exists_in_its_room():
    defined = definitions(read_sources())
    missing = [f"{room}: {name}" for room, text in read_pxds().items()
               for name in sorted(doors(text) - declared_here(text))
               if defined.get(name) is None or room_of(defined[name]) != room]
    assert missing == []


# The includes place: the C headers are declared in these files only (uvloop's includes/).
HEADER_FILES = {"redis_api.pxd", "dlpack.pxd", "pthreads.pxd", "onnx_allocator.pxd", "system.pxd",
                "native_runner.pxd", "serialization/encoding_version.pxd"}


def test_c_headers_are_declared_in_the_includes_place_only():
    declaring = {str(p.relative_to(ROOT)) for p in sorted(ROOT.rglob("*"))
                 if p.suffix in (".pyx", ".pxd", ".pxi", ".in") and re.search(r'^cdef extern from "', p.read_text(), re.M)
                 and str(p.relative_to(ROOT)) not in OWN_EXTENSIONS}
    assert declaring <= HEADER_FILES


def declared_here(pxd_text):
    """What a .pxd defines itself rather than declares: externs (C defines them) and enums."""
    code = code_only(pxd_text)
    return set(extern_names(code)) | set(enum_names(code))


def test_every_source_room_is_in_the_table():
    assert {room_of(rel) for rel in read_sources()} <= set(ROOM_MAY_USE)


def test_the_scan_sees_a_wrong_way_call_and_an_undeclared_door():
    sources = {
        "objects/thing.pyx": "cdef int thing_new() noexcept nogil:\n    return reply_thing()\n",
        "commands/reply.pyx": 'cdef int reply_thing() noexcept nogil:\n    """thing_new"""\n    return 0\n',
        "commands/other.pyx": "def other():\n    # thing_new\n    return thing_hidden() + thing_new()\n",
        "objects/hidden.pxi.in": "cdef int thing_hidden():\n    return 1\n",
    }
    pxds = {"objects": "cdef int thing_new() noexcept nogil\n", "commands": "# python doors: other\n"}
    assert violations(sources, pxds) == [
        "commands/other.pyx: thing_hidden (objects; not a door of objects/objects.pxd)",
        "objects/thing.pyx: reply_thing (commands; objects may not use it)",
    ]
