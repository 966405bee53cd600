# AI.MODELDEL <key>
from redisai_module.redis_api cimport *


cdef public int RAI_ModelDel_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc != 2:
        return RedisModule_WrongArity(ctx)
    cdef const char *err = NULL
    cdef RedisModuleKey *key = open_value_key(ctx, argv[1], RAI_ModelType,
                                              REDISMODULE_READ | REDISMODULE_WRITE, RAI_ERR_MODEL_EMPTY, &err)
    if key == NULL:
        return RedisModule_ReplyWithError(ctx, err)
    RedisModule_DeleteKey(key)
    RedisModule_CloseKey(key)
    RedisModule_ReplicateVerbatim(ctx)
    return RedisModule_ReplyWithSimpleString(ctx, "OK")
