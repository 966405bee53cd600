"""Every client-visible error text lives in one table, redisai_module/errors.py: the Cython core
reads it as C constants rendered from it (errors.pxi.in), the backend adapters import it. A
string literal elsewhere that starts the way a Redis error reply does is a text outside the
table, which a client matching the bytes would miss when the table changes."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "redisai_module" / "errors.py"
SOURCES = [ROOT / "redisai_module", ROOT / "src"]
SUFFIXES = {".pyx", ".pxd", ".pxi", ".in", ".py", ".c", ".cpp", ".h"}
# The error codes Redis and its clients give meaning to (the first word of an error reply)
PREFIXES = ["ERR", "WRONGTYPE", "NOPERM", "NOAUTH", "WRONGPASS", "BUSY", "BUSYKEY", "NOSCRIPT",
            "LOADING", "READONLY", "MASTERDOWN", "MISCONF", "OOM", "EXECABORT", "CROSSSLOT",
            "TRYAGAIN", "CLUSTERDOWN", "MOVED", "ASK", "NOREPLICAS", "UNBLOCKED", "NOTBUSY", "NOPROTO"]
LITERAL = re.compile(r"""(?<![A-Za-z0-9_])[fbruFBRU]{0,2}["'](?:%s) """ % "|".join(PREFIXES))


def source_files():
    for folder in SOURCES:
        for path in sorted(folder.rglob("*")):
            if path.suffix in SUFFIXES and "__pycache__" not in path.parts and path != TABLE:
                yield path


def test_no_error_literal_outside_the_table():
    found = []
    for path in source_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if LITERAL.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "error texts outside redisai_module/errors.py:\n" + "\n".join(found)


def test_the_pattern_sees_the_forms_used():
    for line in ['x = "ERR boom"', "raise E(f'ERR {x}')", 'RAI_ERR_X "NOPERM no"', "b'WRONGTYPE x'"]:
        assert LITERAL.search(line), line
    for line in ['x = "TERR y"', 'RedisModule_Log(ctx, "warning", RAI_ERR_X)', '"ERRORS"']:
        assert not LITERAL.search(line), line


def test_the_table_renders_into_c():
    """Names are C identifiers; texts are ASCII, which errors.pxi.in escapes into C literals."""
    sys.path.insert(0, str(ROOT))
    try:
        from redisai_module import errors
    finally:
        sys.path.remove(str(ROOT))
    entries = {name: text for name, text in vars(errors).items() if name.isupper()}
    assert entries
    for name, text in entries.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and isinstance(text, str), name
        assert text.isascii(), name
