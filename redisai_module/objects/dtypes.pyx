# Tensor data types: the RedisAI names and their DLPack codes (COMMANDS.md §2).
from libc.stdint cimport uint8_t
from libc.string cimport strncasecmp
from redisai_module.dlpack cimport DLDataType, kDLInt, kDLUInt, kDLFloat, kDLBool, kDLString


cdef inline DLDataType make_dtype(uint8_t code, uint8_t bits) noexcept nogil:
    cdef DLDataType dt
    dt.code = code
    dt.bits = bits
    dt.lanes = 1
    return dt


cdef inline bint dtype_equal(DLDataType a, DLDataType b) noexcept nogil:
    return a.code == b.code and a.bits == b.bits and a.lanes == b.lanes


cdef inline bint name_is(const char *s, size_t n, const char *name, size_t name_len) noexcept nogil:
    return n == name_len and strncasecmp(s, name, n) == 0


cdef bint dtype_parse(const char *s, size_t n, DLDataType *out) noexcept nogil:
    """Parse a type name case-insensitively; INT<bits>/UINT<bits> take exactly the listed widths."""
    if name_is(s, n, "FLOAT", 5):
        out[0] = make_dtype(kDLFloat, 32)
    elif name_is(s, n, "DOUBLE", 6):
        out[0] = make_dtype(kDLFloat, 64)
    elif name_is(s, n, "BOOL", 4):
        out[0] = make_dtype(kDLBool, 8)
    elif name_is(s, n, "STRING", 6):
        out[0] = make_dtype(kDLString, 8)
    elif name_is(s, n, "INT8", 4):
        out[0] = make_dtype(kDLInt, 8)
    elif name_is(s, n, "INT16", 5):
        out[0] = make_dtype(kDLInt, 16)
    elif name_is(s, n, "INT32", 5):
        out[0] = make_dtype(kDLInt, 32)
    elif name_is(s, n, "INT64", 5):
        out[0] = make_dtype(kDLInt, 64)
    elif name_is(s, n, "UINT8", 5):
        out[0] = make_dtype(kDLUInt, 8)
    elif name_is(s, n, "UINT16", 6):
        out[0] = make_dtype(kDLUInt, 16)
    else:
        return False
    return True


cdef const char *dtype_name(DLDataType dt) noexcept nogil:
    """The upper-case RedisAI name, or NULL for a type RedisAI cannot name (e.g. float16)."""
    if dt.lanes != 1:
        return NULL
    if dt.code == kDLFloat:
        if dt.bits == 32:
            return "FLOAT"
        if dt.bits == 64:
            return "DOUBLE"
    elif dt.code == kDLInt:
        if dt.bits == 8:
            return "INT8"
        if dt.bits == 16:
            return "INT16"
        if dt.bits == 32:
            return "INT32"
        if dt.bits == 64:
            return "INT64"
    elif dt.code == kDLUInt:
        if dt.bits == 8:
            return "UINT8"
        if dt.bits == 16:
            return "UINT16"
    elif dt.code == kDLBool and dt.bits == 8:
        return "BOOL"
    elif dt.code == kDLString and dt.bits == 8:
        return "STRING"
    return NULL


cdef inline bint dtype_is_supported(DLDataType dt) noexcept nogil:
    return dtype_name(dt) != NULL


cdef inline size_t dtype_size(DLDataType dt) noexcept nogil:
    """Bytes per element in a BLOB (STRING: 1, its elements are variable-length)."""
    return dt.bits // 8
