# AI.MODELGET <key> [META] [BLOB]   AI.SCRIPTGET <key> [META] [SOURCE]    (docs/COMMANDS.md §5.3, §6.3)
# One shape: the body (BLOB, SOURCE) alone, the metadata alone (META), or both in one array
# (neither flag, or both); the metadata differ.
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *

ctypedef void (*ReplyPart)(RedisModuleCtx *ctx, void *value) noexcept nogil

ctypedef struct GetShape:  # what AI.MODELGET and AI.SCRIPTGET each reply
    bint is_script
    const char *body_flag    # the argument that asks for the body
    size_t body_flag_len
    const char *body_name    # its name in the full reply
    long meta_len            # the metadata's reply elements (names and values)
    ReplyPart reply_meta
    ReplyPart reply_body


cdef void reply_name_list(RedisModuleCtx *ctx, char **names, size_t n) noexcept nogil:
    cdef size_t i
    RedisModule_ReplyWithArray(ctx, n)
    for i in range(n):
        RedisModule_ReplyWithCString(ctx, names[i])


cdef void reply_device_and_tag(RedisModuleCtx *ctx, RaiRunnable *h) noexcept nogil:
    RedisModule_ReplyWithCString(ctx, "device")
    RedisModule_ReplyWithCString(ctx, h.device)
    RedisModule_ReplyWithCString(ctx, "tag")
    RedisModule_ReplyWithStringBuffer(ctx, h.tag, h.tag_len)


cdef int reply_get(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, const GetShape *shape) noexcept nogil:
    if argc < 2 or argc > 4:
        return RedisModule_WrongArity(ctx)
    cdef ErrorValue err
    cdef void *value
    cdef RedisModuleKey *key = open_runnable_key(ctx, argv[1], shape.is_script, REDISMODULE_READ, &value, &err)
    if key == NULL:
        return reply_error_value(ctx, &err)
    cdef bint meta = False, body = False
    cdef int i
    for i in range(2, argc):
        if arg_is(argv[i], "META", 4):
            meta = True
        elif arg_is(argv[i], shape.body_flag, shape.body_flag_len):
            body = True
    if body and not meta:
        shape.reply_body(ctx, value)
        RedisModule_CloseKey(key)
        return REDISMODULE_OK
    body = not meta or body
    RedisModule_ReplyWithArray(ctx, shape.meta_len + 2 if body else shape.meta_len)
    shape.reply_meta(ctx, value)
    if body:
        RedisModule_ReplyWithCString(ctx, shape.body_name)
        shape.reply_body(ctx, value)
    RedisModule_CloseKey(key)
    return REDISMODULE_OK


cdef void reply_model_blob(RedisModuleCtx *ctx, void *value) noexcept nogil:
    """One bulk string, or MODEL_CHUNK_SIZE chunks (the last one may be empty, §5.3)."""
    cdef RaiModel *m = <RaiModel *>value
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


cdef void reply_model_meta(RedisModuleCtx *ctx, void *value) noexcept nogil:
    cdef RaiModel *m = <RaiModel *>value
    RedisModule_ReplyWithCString(ctx, "backend")
    RedisModule_ReplyWithCString(ctx, backend_name(m.backend))
    reply_device_and_tag(ctx, &m.head)
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


cdef void reply_script_source(RedisModuleCtx *ctx, void *value) noexcept nogil:
    RedisModule_ReplyWithStringBuffer(ctx, (<RaiScript *>value).source, (<RaiScript *>value).source_len)


cdef void reply_script_meta(RedisModuleCtx *ctx, void *value) noexcept nogil:
    cdef RaiScript *s = <RaiScript *>value
    reply_device_and_tag(ctx, &s.head)
    RedisModule_ReplyWithCString(ctx, "Entry Points")
    reply_name_list(ctx, s.entry_points, s.nentry_points)


cdef public int RAI_ModelGet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    cdef GetShape shape = GetShape(False, "BLOB", 4, "blob", 16, reply_model_meta, reply_model_blob)
    return reply_get(ctx, argv, argc, &shape)


cdef public int RAI_ScriptGet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    cdef GetShape shape = GetShape(True, "SOURCE", 6, "source", 6, reply_script_meta, reply_script_source)
    return reply_get(ctx, argv, argc, &shape)
