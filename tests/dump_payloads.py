"""Building and reading Redis DUMP payloads of the module's types, for the RESTORE tests.

A DUMP payload is the RDB serialization of one value followed by a trailer: the RDB version
(2 bytes, little-endian) and the CRC-64/Jones of everything before it (8 bytes, little-endian), as
redis' crc64.c computes it. A module value (RDB_TYPE_MODULE_2, type byte 7) is its module id (the
type's id, low 10 bits = encoding version) as an RDB length, then opcode-tagged values (SINT, UINT,
FLOAT, DOUBLE, STRING) and the EOF opcode 0. These helpers write such payloads byte for byte as Redis
does (so that a forged payload reaches the module's loader) and decode them back.
"""
import struct

# Module ids of the three RedisAI types (docs/PERSISTENCE.md §1), encoding version 0
TENSOR_MODULE_ID = 0x008FD310D48E4400  # AI_TENSOR
MODEL_MODULE_ID = 0x008FFF30E0C42C00   # AI__MODEL
SCRIPT_MODULE_ID = 0x008FD209120F4C00  # AI_SCRIPT

# Opcodes of module values (RDB_MODULE_OPCODE_*)
OP_EOF, OP_SINT, OP_UINT, OP_FLOAT, OP_DOUBLE, OP_STRING = 0, 1, 2, 3, 4, 5


# --------------------------------------------------------------------------------------------------
# CRC-64/Jones


def _crc_table():
    poly = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9, reflected
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc64(data, crc=0):
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


# --------------------------------------------------------------------------------------------------
# Writing


def rdb_len(n):
    """An RDB length (rdbSaveLen): 6-bit, 14-bit, 32-bit or 64-bit form."""
    assert 0 <= n < 1 << 64, n
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def _bit_pattern(n):
    """A signed or unsigned 64-bit integer as the unsigned value of its bit pattern."""
    assert -(1 << 63) <= n < 1 << 64, n
    return n & 0xFFFFFFFFFFFFFFFF


def UINT(n):
    """RedisModule_SaveUnsigned; a negative n is saved as its bit pattern (as SaveSigned does)."""
    return rdb_len(OP_UINT) + rdb_len(_bit_pattern(n))


def SINT(n):
    """RedisModule_SaveSigned."""
    return rdb_len(OP_SINT) + rdb_len(_bit_pattern(n))


def STR(b):
    """RedisModule_SaveStringBuffer (uncompressed)."""
    return rdb_len(OP_STRING) + rdb_len(len(b)) + b


EOF = rdb_len(OP_EOF)


def with_trailer(data, rdb_version=10):
    """A DUMP payload: data + 2-byte RDB version + CRC64 of everything before (Redis 7.0 writes RDB
    version 10, the upstream RedisAI samples in testdata carry 9)."""
    data = bytes(data) + rdb_version.to_bytes(2, "little")
    return data + crc64(data).to_bytes(8, "little")


def module_payload(module_id, body, rdb_version=10, eof=True):
    """The DUMP payload of a module value: `body` is its values (UINT(..) + STR(..) + ...),
    `module_id` the type's id with the encoding version in its low 10 bits."""
    return with_trailer(b"\x07" + rdb_len(module_id) + body + (EOF if eof else b""), rdb_version)


def build_body(module_id, values, eof=True):
    """A module value from (opcode, value) pairs as parse_dump gives them (without the trailer).
    The module id always takes the 64-bit form, as Redis writes it."""
    out = bytearray(b"\x07\x81" + (module_id & (1 << 64) - 1).to_bytes(8, "big"))
    for op, v in values:
        out += rdb_len(op)
        if op in (OP_SINT, OP_UINT):
            out += rdb_len(v)
        elif op == OP_STRING:
            out += rdb_len(len(v)) + v
        elif op in (OP_FLOAT, OP_DOUBLE):
            out += v
        else:  # an unknown opcode: give it some bytes
            out += v if isinstance(v, bytes) else rdb_len(v)
    if eof:
        out += EOF
    return bytes(out)


# --------------------------------------------------------------------------------------------------
# The values of each encoding version, field by field as docs/PERSISTENCE.md §3 and §5 list them


BACKEND_CODES = {"TF": 0, "TFLITE": 1, "TORCH": 2, "ONNX": 3}


def tensor_v4_body(code, bits, shape, blob, offsets=None):
    """Tensor encoding 4: code, bits, ndims, dims, data, then (STRING) each element's offset."""
    body = UINT(code) + UINT(bits) + UINT(len(shape)) + b"".join(UINT(d) for d in shape) + STR(blob)
    if offsets is not None:
        body += b"".join(UINT(o) for o in offsets)
    return body


def tensor_v0_body(code, bits, shape, blob, device=1, lanes=1):
    """Tensor encodings 0-3: device type and id, bits before code, lanes, ndims, dims, strides,
    byte offset, data."""
    return (UINT(device) + UINT(0) + UINT(bits) + UINT(code) + UINT(lanes) + UINT(len(shape))
            + b"".join(UINT(d) for d in shape) + b"".join(UINT(1) for _ in shape) + UINT(0) + STR(blob))


def model_body(encver, backend, device, tag, batch, inputs, outputs, chunks):
    """Model encodings 0-4: encoding 0 keeps the tag's NUL and the blob in one string, encoding 2
    adds minbatchtimeout."""
    b, mb, t = batch
    body = UINT(BACKEND_CODES[backend]) + STR(device + b"\0")
    body += STR(tag + b"\0") if encver == 0 else STR(tag)
    body += UINT(b) + UINT(mb)
    if encver >= 2:
        body += UINT(t)
    body += UINT(len(inputs)) + b"".join(STR(i + b"\0") for i in inputs)
    body += UINT(len(outputs)) + b"".join(STR(o + b"\0") for o in outputs)
    if encver == 0:
        body += STR(b"".join(chunks))
    else:
        body += UINT(sum(len(c) for c in chunks)) + UINT(len(chunks)) + b"".join(STR(c) for c in chunks)
    return body


def script_body(encver, device, tag, source, entry_points=()):
    """Script encodings 0-4: encoding 0 keeps the tag's NUL, encoding 3 adds the entry points."""
    body = STR(device + b"\0") + (STR(tag + b"\0") if encver == 0 else STR(tag)) + STR(source + b"\0")
    if encver >= 3:
        body += UINT(len(entry_points)) + b"".join(STR(e + b"\0") for e in entry_points)
    return body


# --------------------------------------------------------------------------------------------------
# Reading


def read_len(buf, i):
    """(value, special-encoding flag, next index) of the RDB length at buf[i]."""
    b = buf[i]
    t = b >> 6
    if t == 0:
        return b & 0x3F, False, i + 1
    if t == 1:
        return ((b & 0x3F) << 8) | buf[i + 1], False, i + 2
    if b == 0x80:
        return int.from_bytes(buf[i + 1:i + 5], "big"), False, i + 5
    if b == 0x81:
        return int.from_bytes(buf[i + 1:i + 9], "big"), False, i + 9
    if t == 3:
        return b & 0x3F, True, i + 1
    raise ValueError("bad RDB length byte %#x" % b)


def lzf_decompress(data, out_len):
    out = bytearray()
    i = 0
    while i < len(data):
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            out += data[i:i + ctrl + 1]
            i += ctrl + 1
        else:
            length = ctrl >> 5
            ref = len(out) - ((ctrl & 0x1F) << 8) - 1
            if length == 7:
                length += data[i]
                i += 1
            ref -= data[i]
            i += 1
            for _ in range(length + 2):
                out.append(out[ref])
                ref += 1
    assert len(out) == out_len
    return bytes(out)


def read_string(buf, i):
    """(bytes, next index) of the RDB string at buf[i]: plain, integer-encoded or LZF."""
    n, special, i = read_len(buf, i)
    if not special:
        return bytes(buf[i:i + n]), i + n
    if n == 0:
        return str(struct.unpack("<b", buf[i:i + 1])[0]).encode(), i + 1
    if n == 1:
        return str(struct.unpack("<h", buf[i:i + 2])[0]).encode(), i + 2
    if n == 2:
        return str(struct.unpack("<i", buf[i:i + 4])[0]).encode(), i + 4
    if n == 3:
        clen, _, i = read_len(buf, i)
        ulen, _, i = read_len(buf, i)
        return lzf_decompress(buf[i:i + clen], ulen), i + clen
    raise ValueError("bad string encoding")


def parse_dump(payload):
    """(module id with encoding version, [(opcode, value)]) of a module value's DUMP payload; SINT and
    UINT values as ints, FLOAT and DOUBLE as their raw bytes, STRING as bytes. Checks the framing:
    type byte, 64-bit module id, CRC, and the EOF opcode right before the trailer."""
    assert payload[0] == 7, payload[:1]
    assert payload[1] == 0x81
    assert int.from_bytes(payload[-8:], "little") == crc64(payload[:-8]), "bad CRC"
    body = payload[:-10]
    module_id = int.from_bytes(body[2:10], "big")
    i = 10
    values = []
    while True:
        op, _, i = read_len(body, i)
        if op == OP_EOF:
            break
        if op in (OP_SINT, OP_UINT):
            v, _, i = read_len(body, i)
        elif op == OP_FLOAT:
            v, i = body[i:i + 4], i + 4
        elif op == OP_DOUBLE:
            v, i = body[i:i + 8], i + 8
        elif op == OP_STRING:
            v, i = read_string(body, i)
        else:
            raise ValueError(op)
        values.append((op, v))
    assert i == len(body), "trailing bytes after EOF: %d of %d" % (i, len(body))
    return module_id, values
