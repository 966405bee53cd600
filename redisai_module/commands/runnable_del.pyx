# AI.MODELDEL <key>   AI.SCRIPTDEL <key>
from redisai_module.redis_api cimport *


cdef int delete_runnable(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, bint is_script) noexcept nogil:
    if argc != 2:
        return RedisModule_WrongArity(ctx)
    cdef ErrorValue err
    cdef void *value
    cdef RedisModuleKey *key = open_runnable_key(ctx, argv[1], is_script, REDISMODULE_READ | REDISMODULE_WRITE,
                                                 &value, &err)
    if key == NULL:
        return reply_error_value(ctx, &err)
    RedisModule_DeleteKey(key)
    RedisModule_CloseKey(key)
    RedisModule_ReplicateVerbatim(ctx)
    return RedisModule_ReplyWithSimpleString(ctx, "OK")


cdef public int RAI_ModelDel_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    return delete_runnable(ctx, argv, argc, False)


cdef public int RAI_ScriptDel_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    return delete_runnable(ctx, argv, argc, True)
