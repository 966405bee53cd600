# AI.INFO <model_or_script_key> [RESETSTAT]     (docs/COMMANDS.md §8)
from redisai_module.objects.run_stats cimport RunStats
from redisai_module.redis_api cimport *


cdef void reply_run_stats(RedisModuleCtx *ctx, RunStats *s) noexcept nogil:
    RedisModule_ReplyWithArray(ctx, 18)
    RedisModule_ReplyWithCString(ctx, "key")
    RedisModule_ReplyWithStringBuffer(ctx, s.key, s.key_len)
    RedisModule_ReplyWithCString(ctx, "type")
    RedisModule_ReplyWithCString(ctx, "SCRIPT" if s.is_script else "MODEL")
    RedisModule_ReplyWithCString(ctx, "backend")
    RedisModule_ReplyWithCString(ctx, backend_name(s.backend))
    RedisModule_ReplyWithCString(ctx, "device")
    RedisModule_ReplyWithCString(ctx, s.device)
    RedisModule_ReplyWithCString(ctx, "tag")
    RedisModule_ReplyWithStringBuffer(ctx, s.tag, s.tag_len)
    RedisModule_ReplyWithCString(ctx, "duration")
    RedisModule_ReplyWithLongLong(ctx, s.duration_us)
    RedisModule_ReplyWithCString(ctx, "samples")
    RedisModule_ReplyWithLongLong(ctx, -1 if s.is_script else s.samples)
    RedisModule_ReplyWithCString(ctx, "calls")
    RedisModule_ReplyWithLongLong(ctx, s.calls)
    RedisModule_ReplyWithCString(ctx, "errors")
    RedisModule_ReplyWithLongLong(ctx, s.errors)


cdef public int RAI_Info_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc < 2 or argc > 3:
        return RedisModule_WrongArity(ctx)
    cdef size_t key_len
    cdef const char *key = RedisModule_StringPtrLen(argv[1], &key_len)
    run_stats_lock()
    cdef RunStats *s = run_stats_find_locked(key, key_len)
    if s == NULL:
        run_stats_unlock()
        return RedisModule_ReplyWithError(ctx, RAI_ERR_NO_RUN_INFO)
    if argc == 3 and arg_is(argv[2], "RESETSTAT", 9):
        s.duration_us = s.samples = s.calls = s.errors = 0
        RedisModule_ReplyWithSimpleString(ctx, "OK")
    else:
        reply_run_stats(ctx, s)
    run_stats_unlock()
    return REDISMODULE_OK
