# Pieces every model decoder shares. RDB and DUMP input is untrusted: every count and length is
# capped before anything is allocated, and every read is checked for I/O errors.
from libc.string cimport memcpy
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *

cdef enum:
    MODEL_MAX_NAMES = 65536
    MODEL_MAX_CHUNKS = 1 << 20


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
    if RedisModule_IsIOError(io) or n > MODEL_MAX_NAMES:
        return False
    names[0] = new_name_list(n)
    count[0] = n
    cdef uint64_t k
    for k in range(n):
        names[0][k] = load_buffer_cstring(io, True, NULL)
        if names[0][k] == NULL:
            return False
    return True


cdef bint load_chunked_blob(RedisModuleIO *io, RaiModel *m) noexcept nogil:
    """Total length, chunk count, chunks: their lengths must add up to the total. Nothing is
    sized by the stored total before the chunks are read: it is untrusted (RDB and DUMP input)."""
    cdef uint64_t total = RedisModule_LoadUnsigned(io)
    cdef uint64_t nchunks = RedisModule_LoadUnsigned(io)
    if RedisModule_IsIOError(io) or nchunks == 0 or nchunks > MODEL_MAX_CHUNKS:
        return False
    cdef char **chunks = <char **>RedisModule_Alloc(nchunks * sizeof(char *))
    cdef size_t *sizes = <size_t *>RedisModule_Alloc(nchunks * sizeof(size_t))
    cdef uint64_t k, loaded = 0, sum = 0
    cdef size_t n, pos = 0
    cdef char *chunk
    cdef bint ok = True
    for k in range(nchunks):
        chunk = RedisModule_LoadStringBuffer(io, &n)
        if RedisModule_IsIOError(io) or chunk == NULL:
            if chunk != NULL:
                RedisModule_Free(chunk)
            ok = False
            break
        chunks[k], sizes[k] = chunk, n
        loaded = k + 1
        sum += n
        if sum > total:
            ok = False
            break
    ok = ok and sum == total
    if ok and loaded == 1:
        m.blob, chunks[0] = chunks[0], NULL  # one chunk (the usual case): it is the blob
    elif ok:
        m.blob = <char *>RedisModule_TryAlloc(total if total else 1)
        ok = m.blob != NULL
        for k in range(loaded if ok else 0):
            memcpy(m.blob + pos, chunks[k], sizes[k])
            pos += sizes[k]
    if ok:
        m.blob_len = total
    for k in range(loaded):
        RedisModule_Free(chunks[k])  # zfree(NULL) is a no-op
    RedisModule_Free(chunks)
    RedisModule_Free(sizes)
    return ok


cdef RaiModel *load_model_identity(RedisModuleIO *io, bint tag_has_nul) noexcept nogil:
    """backend, device+NUL, tag (stored with its NUL in encoding 0 only): the fields every model
    encoding starts with. NULL (logged) on a short read or an unknown backend."""
    cdef RaiModel *m = model_new(<int>RedisModule_LoadUnsigned(io))
    if RedisModule_IsIOError(io) or backend_name(m.backend) == NULL:
        return model_load_failed(io, m)
    m.head.device = load_buffer_cstring(io, True, NULL)
    if m.head.device == NULL:
        return model_load_failed(io, m)
    m.head.tag = load_buffer_cstring(io, tag_has_nul, &m.head.tag_len)
    if m.head.tag == NULL:
        return model_load_failed(io, m)
    return m


cdef const char *key_name_from_io(RedisModuleIO *io, size_t *length) noexcept nogil:
    """The name of the key being loaded (RDB, RESTORE), or NULL where Redis gives none."""
    cdef const RedisModuleString *key = RedisModule_GetKeyNameFromIO(io)
    if key == NULL:
        return NULL
    return RedisModule_StringPtrLen(key, length)


cdef RaiModel *model_load_failed(RedisModuleIO *io, RaiModel *m) noexcept nogil:
    RedisModule_LogIOError(io, "warning", "Experienced a short read while reading a model from RDB")
    model_decref(m)
    return NULL


cdef RaiModel *model_load_finish(RedisModuleIO *io, RaiModel *m) noexcept nogil:
    """Every field is read: the backend loads the blob (main thread only, see types/)."""
    if not runnable_load_or_log(&m.head):
        model_decref(m)
        return NULL
    cdef size_t key_len
    cdef const char *key_name = key_name_from_io(io, &key_len)
    if key_name != NULL:
        runnable_track_stats(&m.head, key_name, key_len)
    ensure_run_queue(m.head.device)
    return m
