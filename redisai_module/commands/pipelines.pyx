# AI.PIPELINECREATE, AI.PIPELINELIST, AI.PIPELINEPAUSE, AI.PIPELINERESUME and AI.PIPELINEDROP
# (docs/COMMANDS.md §7.6): standing pipelines stored under keys of the AI_PIPELN type, run by
# the pump (pipeline_pump.pyx). Creating one checks its DAG against the keyspace now, creates
# its consumer group if missing, and replicates with the creator's ACL user (USER, taken only
# from the replication link and the AOF), as script steps run as that user.
from libc.stdint cimport int64_t
from libc.string cimport memcmp, strlen
from redisai_module.objects.pipeline cimport RaiPipeline
from redisai_module.redis_api cimport *


cdef void report_pipeline_keys(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    """The pipeline's key and its three streams (the input is read and written: XREADGROUP,
    XACK), then the models and scripts its ops name (§11)."""
    cdef int first = 4 if argc > 4 and arg_is(argv[2], "USER", 4) else 2
    cdef ErrorValue err
    cdef RaiPipeline *pl = pipeline_new(argv + first, argc - first, NULL, NULL, 0, &err)
    cdef int k
    report_written_key(ctx, 1)
    if pl == NULL:
        return
    report_script_key(ctx, first + pl.input)
    report_written_key(ctx, first + pl.output)
    report_written_key(ctx, first + pl.deadletter)
    for k in range(pl.first_op, argc - first - 1):
        if arg_is(pl.argv[k], "AI.MODELEXECUTE", 15) or arg_is(pl.argv[k], "AI.SCRIPTEXECUTE", 16):
            report_read_key(ctx, first + k + 1)
    pipeline_free(pl)


cdef int ensure_group(RedisModuleCtx *ctx, RaiPipeline *pl) noexcept nogil:
    """XGROUP CREATE <input> <group> $ MKSTREAM unless the group exists; REDISMODULE_OK, or
    after replying the error (another type under the input's name)."""
    cdef RedisModuleCallReply *reply = RedisModule_Call(ctx, "XGROUP", "!csscc", "CREATE", pl.argv[pl.input],
                                                        pl.argv[pl.group], "$", "MKSTREAM")
    cdef size_t n
    cdef const char *text
    cdef int rc = REDISMODULE_OK
    if reply != NULL and RedisModule_CallReplyType(reply) == REDISMODULE_REPLY_ERROR:
        text = RedisModule_CallReplyStringPtr(reply, &n)
        if not (n >= 9 and memcmp(text, b"BUSYGROUP", 9) == 0):
            if n >= 9 and memcmp(text, b"WRONGTYPE", 9) == 0:
                RedisModule_ReplyWithError(ctx, RAI_ERR_WRONGTYPE)
            else:
                RedisModule_ReplyWithError(ctx, RAI_ERR_PIPELINE_GROUP)
            rc = REDISMODULE_ERR
    if reply != NULL:
        RedisModule_FreeCallReply(reply)
    return rc


cdef RedisModuleKey *open_pipeline_key(RedisModuleCtx *ctx, RedisModuleString *name, bint may_be_empty,
                                       RaiPipeline **pl) noexcept nogil:
    """The key, opened for writing, holding a pipeline (or empty, if allowed); NULL after
    replying the error."""
    cdef RedisModuleKey *key = <RedisModuleKey *>RedisModule_OpenKey(ctx, name, REDISMODULE_READ | REDISMODULE_WRITE)
    cdef int keytype = RedisModule_KeyType(key)
    pl[0] = NULL
    if keytype == REDISMODULE_KEYTYPE_EMPTY and may_be_empty:
        return key
    if keytype == REDISMODULE_KEYTYPE_EMPTY or not key_holds(key, RAI_PipelineType):
        RedisModule_CloseKey(key)
        RedisModule_ReplyWithError(ctx, RAI_ERR_PIPELINE_EMPTY if keytype == REDISMODULE_KEYTYPE_EMPTY
                                   else RAI_ERR_WRONGTYPE)
        return NULL
    pl[0] = <RaiPipeline *>RedisModule_ModuleTypeGetValue(key)
    return key


cdef public int RAI_PipelineCreate_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    """AI.PIPELINECREATE <key> [USER <name>] <definition>"""
    if RedisModule_IsKeysPositionRequest(ctx):
        report_pipeline_keys(ctx, argv, argc)
        return REDISMODULE_OK
    if argc < 3:
        return RedisModule_WrongArity(ctx)
    cdef int flags = RedisModule_GetContextFlags(ctx)
    cdef bint from_master_or_aof = (flags & (REDISMODULE_CTX_FLAGS_REPLICATED | REDISMODULE_CTX_FLAGS_LOADING)) != 0
    cdef int first = 2
    cdef RedisModuleString *user = NULL
    if argc > 4 and arg_is(argv[2], "USER", 4):
        if not from_master_or_aof:
            return RedisModule_ReplyWithError(ctx, RAI_ERR_PIPELINE_USER)
        user = RedisModule_CreateStringFromString(NULL, argv[3])
        first = 4
    elif not from_master_or_aof:
        user = RedisModule_GetCurrentUserName(ctx)
    cdef ErrorValue err
    cdef RaiPipeline *pl = pipeline_new(argv + first, argc - first, user, argv[1], RedisModule_GetSelectedDb(ctx), &err)
    if user != NULL:
        RedisModule_FreeString(NULL, user)
    if pl == NULL:
        return reply_error_value(ctx, &err)
    if not from_master_or_aof and check_pipeline_dag(ctx, pl, &err) < 0:  # the master checked it
        pipeline_free(pl)
        return reply_error_value(ctx, &err)
    cdef RaiPipeline *old
    cdef RedisModuleKey *key = open_pipeline_key(ctx, argv[1], True, &old)
    if key == NULL:
        pipeline_free(pl)
        return REDISMODULE_OK
    if not from_master_or_aof and ensure_group(ctx, pl) != REDISMODULE_OK:
        RedisModule_CloseKey(key)
        pipeline_free(pl)
        return REDISMODULE_OK
    if old == NULL:
        RedisModule_ModuleTypeSetValue(key, RAI_PipelineType, pl)
    else:
        RedisModule_ModuleTypeReplaceValue(key, RAI_PipelineType, pl, NULL)
        pipeline_key_released(old)
    RedisModule_CloseKey(key)
    pipeline_register(pl)
    if pl.user != NULL:
        RedisModule_Replicate(ctx, "AI.PIPELINECREATE", "scsv", argv[1], "USER", pl.user, pl.argv, <size_t>pl.argc)
    else:
        RedisModule_Replicate(ctx, "AI.PIPELINECREATE", "sv", argv[1], pl.argv, <size_t>pl.argc)
    return RedisModule_ReplyWithSimpleString(ctx, "OK")


cdef enum PipelineAction:
    PIPELINE_PAUSE
    PIPELINE_RESUME
    PIPELINE_DROP


cdef int pipeline_action(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, PipelineAction action) noexcept nogil:
    """PAUSE and RESUME set the flag (resuming reads pending entries first); DROP deletes the key,
    leaving the consumer group and the streams. Replicated as sent."""
    if argc != 2:
        return RedisModule_WrongArity(ctx)
    cdef RaiPipeline *pl
    cdef RedisModuleKey *key = open_pipeline_key(ctx, argv[1], False, &pl)
    if key == NULL:
        return REDISMODULE_OK
    if action == PIPELINE_DROP:
        RedisModule_DeleteKey(key)
    else:
        pl.paused = action == PIPELINE_PAUSE
        pl.dirty = True
        pl.pending_first = True
    RedisModule_CloseKey(key)
    RedisModule_ReplicateVerbatim(ctx)
    return RedisModule_ReplyWithSimpleString(ctx, "OK")


cdef public int RAI_PipelinePause_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    return pipeline_action(ctx, argv, argc, PIPELINE_PAUSE)


cdef public int RAI_PipelineResume_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    return pipeline_action(ctx, argv, argc, PIPELINE_RESUME)


cdef public int RAI_PipelineDrop_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    return pipeline_action(ctx, argv, argc, PIPELINE_DROP)


cdef void reply_group_progress(RedisModuleCtx *ctx, RaiPipeline *pl) noexcept nogil:
    """`pending` and `lag` of the pipeline's group, from XINFO GROUPS (nil where unknown)."""
    cdef RedisModuleCallReply *reply = RedisModule_Call(ctx, "XINFO", "cs", "GROUPS", pl.argv[pl.input])
    cdef RedisModuleCallReply *group = NULL
    cdef RedisModuleCallReply *g
    cdef RedisModuleCallReply *v
    cdef size_t k, j, n, want
    cdef const char *s
    cdef const char *wanted = RedisModule_StringPtrLen(pl.argv[pl.group], &want)
    cdef const char *names[2]
    names[0], names[1] = "pending", "lag"
    if reply != NULL and RedisModule_CallReplyType(reply) == REDISMODULE_REPLY_ARRAY:
        for k in range(RedisModule_CallReplyLength(reply)):
            g = RedisModule_CallReplyArrayElement(reply, k)
            s = RedisModule_CallReplyStringPtr(RedisModule_CallReplyArrayElement(g, 1), &n)
            if s != NULL and n == want and memcmp(s, wanted, n) == 0:
                group = g
    for j in range(2):
        RedisModule_ReplyWithSimpleString(ctx, names[j])
        v = NULL
        if group != NULL:
            for k in range(0, RedisModule_CallReplyLength(group), 2):
                s = RedisModule_CallReplyStringPtr(RedisModule_CallReplyArrayElement(group, k), &n)
                if s != NULL and n == strlen(names[j]) and memcmp(s, names[j], n) == 0:
                    v = RedisModule_CallReplyArrayElement(group, k + 1)
        if v != NULL and RedisModule_CallReplyType(v) == REDISMODULE_REPLY_INTEGER:
            RedisModule_ReplyWithLongLong(ctx, RedisModule_CallReplyInteger(v))
        else:
            RedisModule_ReplyWithNull(ctx)
    if reply != NULL:
        RedisModule_FreeCallReply(reply)


cdef void reply_name_value(RedisModuleCtx *ctx, const char *name, RedisModuleString *value) noexcept nogil:
    RedisModule_ReplyWithSimpleString(ctx, name)
    RedisModule_ReplyWithString(ctx, value)


cdef void reply_count(RedisModuleCtx *ctx, const char *name, long long value) noexcept nogil:
    RedisModule_ReplyWithSimpleString(ctx, name)
    RedisModule_ReplyWithLongLong(ctx, value)


cdef void reply_pipeline(RedisModuleCtx *ctx, RaiPipeline *pl, bint replica, int64_t now_ms) noexcept nogil:
    cdef size_t n
    RedisModule_ReplyWithArray(ctx, 30)
    reply_name_value(ctx, "name", pl.key)
    reply_count(ctx, "db", pl.db)
    RedisModule_ReplyWithSimpleString(ctx, "state")
    RedisModule_ReplyWithSimpleString(ctx, "replica" if replica else "paused" if pl.paused else "running")
    reply_name_value(ctx, "input", pl.argv[pl.input])
    reply_name_value(ctx, "group", pl.argv[pl.group])
    reply_name_value(ctx, "output", pl.argv[pl.output])
    reply_name_value(ctx, "deadletter", pl.argv[pl.deadletter])
    reply_count(ctx, "batch", pl.batch)
    reply_count(ctx, "entries", pl.entries)
    reply_count(ctx, "errors", pl.errors)
    reply_count(ctx, "batches", pl.batches)
    RedisModule_ReplyWithSimpleString(ctx, "entries_per_sec")
    RedisModule_ReplyWithDouble(ctx, pl.entries * 1000.0 / (now_ms - pl.since_ms) if now_ms > pl.since_ms else 0.0)
    RedisModule_SelectDb(ctx, pl.db)
    reply_group_progress(ctx, pl)
    RedisModule_ReplyWithSimpleString(ctx, "last_error")
    n = strlen(pl.last_error)
    if n > 0:
        RedisModule_ReplyWithStringBuffer(ctx, pl.last_error, n)
    else:
        RedisModule_ReplyWithNull(ctx)


cdef public int RAI_PipelineList_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    """Every pipeline whose key the caller may read, in every database."""
    if argc != 1:
        return RedisModule_WrongArity(ctx)
    cdef RedisModuleUser *user
    if scan_user(ctx, &user) != REDISMODULE_OK:
        return RedisModule_ReplyWithError(ctx, RAI_ERR_SCAN_NO_USER)
    cdef int db = RedisModule_GetSelectedDb(ctx)
    cdef bint replica = (RedisModule_GetContextFlags(ctx) & REDISMODULE_CTX_FLAGS_SLAVE) != 0
    cdef int64_t now_ms = RedisModule_Milliseconds()
    cdef RaiPipeline *pl = pipelines_first()
    cdef long n = 0
    cdef size_t key_len
    cdef const char *key
    RedisModule_ReplyWithArray(ctx, REDISMODULE_POSTPONED_ARRAY_LEN)
    while pl != NULL:
        if not pipeline_is_released(pl) and pl.key != NULL:
            key = RedisModule_StringPtrLen(pl.key, &key_len)
            if may_read(user, key, key_len):
                reply_pipeline(ctx, pl, replica, now_ms)
                n += 1
        pl = pl.next
    RedisModule_SelectDb(ctx, db)
    RedisModule_ReplySetArrayLength(ctx, n)
    if user != NULL:
        RedisModule_FreeModuleUser(user)
    return REDISMODULE_OK
