# Argument-parsing primitives every command shares (docs/COMMANDS.md §0.3).
from libc.math cimport floor
from libc.stdint cimport INT64_MAX, uint64_t
from libc.string cimport strlen, strncasecmp
from redisai_module.redis_api cimport *


cdef inline bint arg_is(RedisModuleString *arg, const char *word, size_t word_len) noexcept nogil:
    """Case-insensitive keyword match."""
    cdef size_t n
    cdef const char *s = RedisModule_StringPtrLen(arg, &n)
    return n == word_len and strncasecmp(s, word, n) == 0


cdef inline int reply_error_value(RedisModuleCtx *ctx, const ErrorValue *e) noexcept nogil:
    """How a command answers a parser's error (errors.pxi.in)."""
    return RedisModule_ReplyWithError(ctx, e.text)


# How a reported key is used (docs/COMMANDS.md §11), so that ACL read-only and write-only key
# patterns (%R~, %W~) apply as they do to Redis's own commands.
cdef inline void report_read_key(RedisModuleCtx *ctx, int pos) noexcept nogil:
    RedisModule_KeyAtPosWithFlags(ctx, pos, REDISMODULE_CMD_KEY_RO | REDISMODULE_CMD_KEY_ACCESS)


cdef inline void report_written_key(RedisModuleCtx *ctx, int pos) noexcept nogil:
    """Run outputs and PERSIST keys: overwritten, never read."""
    RedisModule_KeyAtPosWithFlags(ctx, pos, REDISMODULE_CMD_KEY_OW | REDISMODULE_CMD_KEY_UPDATE)


cdef inline void report_script_key(RedisModuleCtx *ctx, int pos) noexcept nogil:
    """Script KEYS: the script's own Redis calls may read and write them."""
    RedisModule_KeyAtPosWithFlags(ctx, pos, REDISMODULE_CMD_KEY_RW | REDISMODULE_CMD_KEY_ACCESS
                                  | REDISMODULE_CMD_KEY_UPDATE)


cdef bint lenient_uint(RedisModuleString *arg, uint64_t *out) noexcept nogil:
    """RedisAI's ArgsCursor unsigned reader: a strict integer, or a double that is an exact
    integer ("4.0", "4e0"); negatives and values above INT64_MAX are refused."""
    cdef long long ll
    cdef double d
    if RedisModule_StringToLongLong(arg, &ll) == REDISMODULE_OK:
        if ll < 0:
            return False
        out[0] = <uint64_t>ll
        return True
    if RedisModule_StringToDouble(arg, &d) != REDISMODULE_OK:
        return False
    if d < 0 or d != floor(d) or d > <double>INT64_MAX:
        return False
    out[0] = <uint64_t>d
    return True


cdef bint lenient_int(RedisModuleString *arg, long long *out) noexcept nogil:
    """The signed ArgsCursor reader: a strict integer, or a double that is an exact integer."""
    cdef double d
    if RedisModule_StringToLongLong(arg, out) == REDISMODULE_OK:
        return True
    if RedisModule_StringToDouble(arg, &d) != REDISMODULE_OK or d != floor(d):
        return False
    if d > <double>INT64_MAX or d < -<double>INT64_MAX:
        return False
    out[0] = <long long>d
    return True


cdef bint device_is_valid(RedisModuleString *arg) noexcept nogil:
    """CPU or GPU, optionally followed by ':' and digits, under 10 characters (§5.1 check 3)."""
    cdef size_t n, i
    cdef const char *s = RedisModule_StringPtrLen(arg, &n)
    if n < 3 or (strncasecmp(s, "CPU", 3) != 0 and strncasecmp(s, "GPU", 3) != 0):
        return False
    if n == 3:
        return True
    if s[3] != b':' or n >= 10:
        return False
    for i in range(4, n):
        if s[i] < b'0' or s[i] > b'9':
            return False
    return True


cdef int parse_backend(RedisModuleString *arg) noexcept nogil:
    """The code of the backend the table names `arg` (any case), or -1."""
    cdef int code
    for code in range(N_BACKENDS):
        if arg_is(arg, backend_table[code].name, strlen(backend_table[code].name)):
            return code
    return -1


cdef char **copy_name_span(RedisModuleString **argv, int first, int end, size_t *count) noexcept nogil:
    """argv[first:end] as a list of NUL-terminated names (input/output names, entry points)."""
    cdef char **names = new_name_list(end - first if end > first else 0)
    cdef size_t n
    cdef const char *s
    cdef int k
    for k in range(first, end):
        s = RedisModule_StringPtrLen(argv[k], &n)
        names[k - first] = copy_cstring(s, n)
    count[0] = end - first if end > first else 0
    return names
