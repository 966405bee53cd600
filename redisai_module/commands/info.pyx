# AI.INFO <model_or_script_key> [RESETSTAT]     (docs/COMMANDS.md §8)
from libc.string cimport memset
from redisai_module.objects.run_stats cimport RunStats
from redisai_module.redis_api cimport *


cdef void reply_stats_identity(RedisModuleCtx *ctx, RunStats *s) noexcept nogil:
    """key, type, backend, device: how AI.INFO and AI.STATS begin (8 elements)."""
    RedisModule_ReplyWithCString(ctx, "key")
    RedisModule_ReplyWithStringBuffer(ctx, s.key, s.key_len)
    RedisModule_ReplyWithCString(ctx, "type")
    RedisModule_ReplyWithCString(ctx, "SCRIPT" if s.is_script else "MODEL")
    RedisModule_ReplyWithCString(ctx, "backend")
    RedisModule_ReplyWithCString(ctx, backend_name(s.backend))
    RedisModule_ReplyWithCString(ctx, "device")
    RedisModule_ReplyWithCString(ctx, s.device)


cdef void reply_run_stats(RedisModuleCtx *ctx, RunStats *s) noexcept nogil:
    RedisModule_ReplyWithArray(ctx, 18)
    reply_stats_identity(ctx, s)
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


cdef RunStats *locked_run_stats_or_reply(RedisModuleCtx *ctx, RedisModuleString *name) noexcept nogil:
    """The statistics under `name`, with the statistics lock taken (the caller releases it); NULL
    after replying the error, unlocked."""
    cdef size_t key_len
    cdef const char *key = RedisModule_StringPtrLen(name, &key_len)
    run_stats_lock()
    cdef RunStats *s = run_stats_find_locked(key, key_len)
    if s == NULL:
        run_stats_unlock()
        RedisModule_ReplyWithError(ctx, RAI_ERR_NO_RUN_INFO)
    return s


cdef public int RAI_Info_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc < 2 or argc > 3:
        return RedisModule_WrongArity(ctx)
    cdef RunStats *s = locked_run_stats_or_reply(ctx, argv[1])
    if s == NULL:
        return REDISMODULE_OK
    if argc == 3 and arg_is(argv[2], "RESETSTAT", 9):
        s.duration_us = s.samples = s.calls = s.errors = 0
        memset(s.wait_us_hist, 0, sizeof(s.wait_us_hist))
        memset(s.run_us_hist, 0, sizeof(s.run_us_hist))
        memset(s.batch_hist, 0, sizeof(s.batch_hist))
        RedisModule_ReplyWithSimpleString(ctx, "OK")
    else:
        reply_run_stats(ctx, s)
    run_stats_unlock()
    return REDISMODULE_OK
