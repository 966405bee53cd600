# Pieces every model decoder shares (the string fields are in string_fields.pyx). Frozen decoders
# call them: change them only in ways that read every shipped layout as before.
from libc.string cimport memcpy
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *

cdef enum:
    MODEL_MAX_CHUNKS = 1 << 20


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
    if (RedisModule_IsIOError(io) or backend_name(m.backend) == NULL
            or not load_device_and_tag(io, tag_has_nul, &m.head)):
        return model_load_failed(io, m)
    return m


cdef RaiModel *model_load_failed(RedisModuleIO *io, RaiModel *m) noexcept nogil:
    log_short_read(io, "model")
    model_decref(m)
    return NULL


cdef RaiModel *model_load_finish(RedisModuleIO *io, RaiModel *m) noexcept nogil:
    """Every field is read: the backend loads the blob (main thread only, see types/) and the
    model gets AI.INFO counters under its key's name."""
    if not runnable_load_finish(io, &m.head):
        model_decref(m)
        return NULL
    return m
