# The string fields models and scripts store (device, tag, source, input, output and entry point
# names): read from RDB and DUMP input, which is untrusted (every read checked, every list capped
# before anything is allocated), and written to RDB and as AOF arguments. Frozen decoders call
# the readers: change them only in ways that read every shipped layout as before.
from libc.stdint cimport uint64_t
from libc.string cimport strlen
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.redis_api cimport *

cdef enum:
    MAX_LOADED_NAMES = 65536


cdef char *load_buffer_cstring(RedisModuleIO *io, bint drop_trailing_nul, size_t *out_len) noexcept nogil:
    """A string buffer as a NUL-terminated copy; RedisAI stores most with their NUL."""
    cdef size_t n
    cdef char *buf = RedisModule_LoadStringBuffer(io, &n)
    if RedisModule_IsIOError(io) or buf == NULL:
        if buf != NULL:
            RedisModule_Free(buf)
        return NULL
    if drop_trailing_nul and n > 0 and buf[n - 1] == 0:
        n -= 1
    cdef char *out = copy_cstring(buf, n)
    RedisModule_Free(buf)
    if out_len != NULL:
        out_len[0] = n
    return out


cdef bint load_name_list(RedisModuleIO *io, char ***names, size_t *count) noexcept nogil:
    cdef uint64_t n = RedisModule_LoadUnsigned(io)
    if RedisModule_IsIOError(io) or n > MAX_LOADED_NAMES:
        return False
    names[0] = new_name_list(n)
    count[0] = n
    cdef uint64_t k
    for k in range(n):
        names[0][k] = load_buffer_cstring(io, True, NULL)
        if names[0][k] == NULL:
            return False
    return True


cdef bint load_device_and_tag(RedisModuleIO *io, bint tag_has_nul, RaiRunnable *h) noexcept nogil:
    """device+NUL, then the tag (stored with its NUL in encoding 0 only): how every model and
    script encoding starts, after a model's backend."""
    h.device = load_buffer_cstring(io, True, NULL)
    if h.device == NULL:
        return False
    h.tag = load_buffer_cstring(io, tag_has_nul, &h.tag_len)
    return h.tag != NULL


cdef bint runnable_load_finish(RedisModuleIO *io, RaiRunnable *h) noexcept nogil:
    """Every field of a model or script is read: the backend loads it (main thread only, see
    types/) and it gets AI.INFO counters under its key's name. False (logged) if it did not load."""
    if not runnable_load_or_log(h):
        return False
    cdef size_t key_len
    cdef const char *key_name = key_name_from_io(io, &key_len)
    if key_name != NULL:
        runnable_track_stats(h, key_name, key_len)
    return True


cdef const char *key_name_from_io(RedisModuleIO *io, size_t *length) noexcept nogil:
    """The name of the key being loaded (RDB, RESTORE), or NULL where Redis gives none."""
    cdef const RedisModuleString *key = RedisModule_GetKeyNameFromIO(io)
    if key == NULL:
        return NULL
    return RedisModule_StringPtrLen(key, length)


cdef void save_name_list(RedisModuleIO *io, char **names, size_t n) noexcept nogil:
    cdef size_t k
    RedisModule_SaveUnsigned(io, n)
    for k in range(n):
        RedisModule_SaveStringBuffer(io, names[k], strlen(names[k]) + 1)


cdef RedisModuleString *aof_cstring(const char *s) noexcept nogil:
    return RedisModule_CreateString(NULL, s, strlen(s))


cdef RedisModuleString *aof_number(uint64_t n) noexcept nogil:
    return RedisModule_CreateStringFromLongLong(NULL, <long long>n)


cdef void emit_aof_and_free(RedisModuleIO *aof, const char *command, RedisModuleString *key,
                            RedisModuleString **args, size_t n) noexcept nogil:
    """`command key args...` into the rewritten AOF; frees args. The key goes through 's': Redis
    hands aof_rewrite a stack object that 'v' would try to retain (a panic in the rewrite
    child); 's' copies such objects."""
    RedisModule_EmitAOF(aof, command, "sv", key, args, n)
    cdef size_t k
    for k in range(n):
        RedisModule_FreeString(NULL, args[k])
    RedisModule_Free(args)
