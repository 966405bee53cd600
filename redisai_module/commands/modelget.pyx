# AI.MODELGET <key> [META] [BLOB]
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *


cdef void reply_name_list(RedisModuleCtx *ctx, char **names, size_t n) noexcept nogil:
    cdef size_t i
    RedisModule_ReplyWithArray(ctx, n)
    for i in range(n):
        RedisModule_ReplyWithCString(ctx, names[i])


cdef void reply_model_blob(RedisModuleCtx *ctx, RaiModel *m) noexcept nogil:
    """One bulk string, or MODEL_CHUNK_SIZE chunks (the last one may be empty, §5.3)."""
    cdef size_t chunk = <size_t>rai_config.model_chunk_size
    cdef size_t n = m.blob_len // chunk + 1
    cdef size_t i
    if n == 1:
        RedisModule_ReplyWithStringBuffer(ctx, m.blob, m.blob_len)
        return
    RedisModule_ReplyWithArray(ctx, n)
    for i in range(n):
        RedisModule_ReplyWithStringBuffer(ctx, m.blob + i * chunk,
                                          chunk if i < n - 1 else m.blob_len % chunk)


cdef public int RAI_ModelGet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc < 2 or argc > 4:
        return RedisModule_WrongArity(ctx)
    cdef const char *err = NULL
    cdef RedisModuleKey *key = open_value_key(ctx, argv[1], RAI_ModelType, REDISMODULE_READ,
                                              RAI_ERR_MODEL_EMPTY, &err)
    if key == NULL:
        return RedisModule_ReplyWithError(ctx, err)
    cdef RaiModel *m = <RaiModel *>RedisModule_ModuleTypeGetValue(key)
    cdef bint meta = False, blob = False
    cdef int i
    for i in range(2, argc):
        if arg_is(argv[i], "META", 4):
            meta = True
        elif arg_is(argv[i], "BLOB", 4):
            blob = True
    if blob and not meta:
        reply_model_blob(ctx, m)
        RedisModule_CloseKey(key)
        return REDISMODULE_OK
    blob = not meta or blob
    RedisModule_ReplyWithArray(ctx, 18 if blob else 16)
    RedisModule_ReplyWithCString(ctx, "backend")
    RedisModule_ReplyWithCString(ctx, backend_name(m.backend))
    RedisModule_ReplyWithCString(ctx, "device")
    RedisModule_ReplyWithCString(ctx, m.head.device)
    RedisModule_ReplyWithCString(ctx, "tag")
    RedisModule_ReplyWithStringBuffer(ctx, m.head.tag, m.head.tag_len)
    RedisModule_ReplyWithCString(ctx, "batchsize")
    RedisModule_ReplyWithLongLong(ctx, m.batchsize)
    RedisModule_ReplyWithCString(ctx, "minbatchsize")
    RedisModule_ReplyWithLongLong(ctx, m.minbatchsize)
    RedisModule_ReplyWithCString(ctx, "inputs")
    reply_name_list(ctx, m.inputs, m.ninputs)
    RedisModule_ReplyWithCString(ctx, "outputs")
    reply_name_list(ctx, m.outputs, m.noutputs)
    RedisModule_ReplyWithCString(ctx, "minbatchtimeout")
    RedisModule_ReplyWithLongLong(ctx, m.minbatchtimeout)
    if blob:
        RedisModule_ReplyWithCString(ctx, "blob")
        reply_model_blob(ctx, m)
    RedisModule_CloseKey(key)
    return REDISMODULE_OK
