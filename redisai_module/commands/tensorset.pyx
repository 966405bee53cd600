# AI.TENSORSET <key> <type> [<dim> ...] [BLOB <data> | VALUES <v> ...]
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef public int RAI_TensorSet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc < 4:
        return RedisModule_WrongArity(ctx)
    cdef ErrorValue err
    cdef RedisModuleKey *key = open_tensor_key_for_write(ctx, argv[1], &err)
    if key == NULL:
        return reply_error_value(ctx, &err)
    cdef RaiTensor *t = tensor_from_args(argv + 2, argc - 2, &err)
    if t == NULL:
        RedisModule_CloseKey(key)
        return reply_error_value(ctx, &err)
    store_tensor(key, t)
    RedisModule_CloseKey(key)
    notify_tensor_written(ctx, argv[1])
    RedisModule_ReplicateVerbatim(ctx)
    return RedisModule_ReplyWithSimpleString(ctx, "OK")
