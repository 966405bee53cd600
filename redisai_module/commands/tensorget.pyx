# AI.TENSORGET <key> [META] [BLOB | VALUES]
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef public int RAI_TensorGet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc < 2 or argc > 4:
        return RedisModule_WrongArity(ctx)
    cdef ErrorValue err
    cdef RedisModuleKey *key = NULL
    cdef RaiTensor *t = read_tensor_key(ctx, argv[1], &key, &err)
    if t == NULL:
        return reply_error_value(ctx, &err)
    cdef int fmt = parse_tensor_formats(argv + 2, argc - 2, &err)
    if fmt == 0:
        RedisModule_CloseKey(key)
        return reply_error_value(ctx, &err)
    reply_tensor(ctx, t, fmt)
    RedisModule_CloseKey(key)
    return REDISMODULE_OK
