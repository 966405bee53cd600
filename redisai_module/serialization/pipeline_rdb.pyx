# The pipeline encoding, ours alone (RedisAI 1.2 had no pipelines): a format number, then the
# creator's ACL user (empty: none), the paused flag and the definition's strings, exactly as
# given. AOF rewrite emits the creating command (with its USER, docs/COMMANDS.md §7.6) and, for a
# paused pipeline, AI.PIPELINEPAUSE. Loading re-reads the definition's syntax only.
from redisai_module.objects.pipeline cimport RaiPipeline
from redisai_module.redis_api cimport *

cdef enum:
    PIPELINE_FORMAT = 1


cdef void save_string(RedisModuleIO *io, RedisModuleString *s) noexcept nogil:
    cdef size_t n = 0
    cdef const char *p = b""
    if s != NULL:
        p = RedisModule_StringPtrLen(s, &n)
    RedisModule_SaveStringBuffer(io, p, n)


cdef void pipeline_rdb_save(RedisModuleIO *io, RaiPipeline *pl) noexcept nogil:
    cdef int k
    RedisModule_SaveUnsigned(io, PIPELINE_FORMAT)
    save_string(io, pl.user)
    RedisModule_SaveUnsigned(io, 1 if pl.paused else 0)
    RedisModule_SaveUnsigned(io, <uint64_t>pl.argc)
    for k in range(pl.argc):
        save_string(io, pl.argv[k])


cdef RedisModuleString *load_string(RedisModuleIO *io) noexcept nogil:
    """NULL on an I/O error."""
    cdef size_t n
    cdef char *p = RedisModule_LoadStringBuffer(io, &n)
    if RedisModule_IsIOError(io) or p == NULL:
        return NULL
    cdef RedisModuleString *s = RedisModule_CreateString(NULL, p, n)
    RedisModule_Free(p)
    return s


cdef RaiPipeline *pipeline_rdb_decode(RedisModuleIO *io) noexcept nogil:
    """The pipeline (not registered), or NULL after logging why."""
    cdef ErrorValue err
    cdef RaiPipeline *pl = NULL
    cdef RedisModuleString *user = NULL
    cdef RedisModuleString **argv = NULL
    cdef uint64_t argc = 0, k, loaded = 0
    cdef size_t n
    cdef bint paused
    if RedisModule_LoadUnsigned(io) != PIPELINE_FORMAT or RedisModule_IsIOError(io):
        RedisModule_LogIOError(io, "warning", "unknown AI pipeline encoding")
        return NULL
    user = load_string(io)
    paused = RedisModule_LoadUnsigned(io) != 0
    argc = RedisModule_LoadUnsigned(io)
    if user != NULL and not RedisModule_IsIOError(io) and argc <= 1000000:
        argv = <RedisModuleString **>RedisModule_Alloc((argc + 1) * sizeof(RedisModuleString *))
        while loaded < argc:
            argv[loaded] = load_string(io)
            if argv[loaded] == NULL:
                break
            loaded += 1
    if argv != NULL and loaded == argc:
        RedisModule_StringPtrLen(user, &n)
        pl = pipeline_new(argv, <int>argc, user if n > 0 else NULL, <RedisModuleString *>RedisModule_GetKeyNameFromIO(io),
                          RedisModule_GetDbIdFromIO(io), &err)
        if pl == NULL:
            RedisModule_LogIOError(io, "warning", "AI pipeline definition refused: %s", err.text)
        else:
            pl.paused = paused
    elif argv != NULL or user == NULL:
        RedisModule_LogIOError(io, "warning", "truncated AI pipeline")
    for k in range(loaded):
        RedisModule_FreeString(NULL, argv[k])
    RedisModule_Free(argv)
    if user != NULL:
        RedisModule_FreeString(NULL, user)
    return pl


cdef void pipeline_aof_rewrite(RedisModuleIO *aof, RedisModuleString *key, RaiPipeline *pl) noexcept nogil:
    cdef int n = 0, k
    cdef RedisModuleString **args = <RedisModuleString **>RedisModule_Alloc((pl.argc + 3) * sizeof(RedisModuleString *))
    if pl.user != NULL:
        args[n] = aof_cstring("USER"); n += 1
        args[n] = RedisModule_CreateStringFromString(NULL, pl.user); n += 1
    for k in range(pl.argc):
        args[n] = RedisModule_CreateStringFromString(NULL, pl.argv[k]); n += 1
    emit_aof_and_free(aof, "AI.PIPELINECREATE", key, args, <size_t>n)
    if pl.paused:
        RedisModule_EmitAOF(aof, "AI.PIPELINEPAUSE", "s", key)
