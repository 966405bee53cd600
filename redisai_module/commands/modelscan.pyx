# AI._MODELSCAN (experimental): [key, tag] of every model, from the statistics index (§5.7).
from redisai_module.objects.run_stats cimport RunStats
from redisai_module.redis_api cimport *


cdef int reply_scan(RedisModuleCtx *ctx, bint scripts) noexcept nogil:
    cdef long n = 0
    cdef RunStats *s
    RedisModule_ReplyWithArray(ctx, REDISMODULE_POSTPONED_ARRAY_LEN)
    run_stats_lock()
    s = run_stats_first_locked()
    while s != NULL:
        if s.is_script == scripts:
            RedisModule_ReplyWithArray(ctx, 2)
            RedisModule_ReplyWithStringBuffer(ctx, s.key, s.key_len)
            RedisModule_ReplyWithStringBuffer(ctx, s.tag, s.tag_len)
            n += 1
        s = s.next
    run_stats_unlock()
    RedisModule_ReplySetArrayLength(ctx, n)
    return REDISMODULE_OK


cdef public int RAI_ModelScan_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc != 1:
        return RedisModule_WrongArity(ctx)
    RedisModule_Log(ctx, "warning", "MODELSCAN is experimental and might be removed in future versions")
    return reply_scan(ctx, False)
