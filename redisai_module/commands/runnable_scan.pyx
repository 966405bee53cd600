# AI._MODELSCAN and AI._SCRIPTSCAN (experimental, docs/COMMANDS.md §5.7, §6.7): [key, tag] of every
# model (script), from the statistics index; only the keys the caller's ACL user may read.
from libc.errno cimport errno
from redisai_module.objects.run_stats cimport RunStats
from redisai_module.redis_api cimport *
from redisai_module.system cimport ENOTSUP


cdef int scan_user(RedisModuleCtx *ctx, RedisModuleUser **user) noexcept nogil:
    """The caller's ACL user into *user (NULL: unrestricted, as Redis's replication link is).
    REDISMODULE_ERR when the caller is neither a connection nor a Lua script: another module's
    RedisModule_Call, whose user (if any) the API cannot tell without crashing on its absence."""
    cdef RedisModuleString *name = RedisModule_GetClientUserNameById(ctx, RedisModule_GetClientId(ctx))
    user[0] = NULL
    if name == NULL and errno == ENOTSUP:
        return REDISMODULE_OK
    if name == NULL:
        # not a connection: a Lua script's client carries its caller's user
        if not (RedisModule_GetContextFlags(ctx) & REDISMODULE_CTX_FLAGS_LUA):
            return REDISMODULE_ERR
        name = RedisModule_GetCurrentUserName(ctx)
    user[0] = RedisModule_GetModuleUserFromUserName(name)
    RedisModule_FreeString(ctx, name)
    return REDISMODULE_OK if user[0] != NULL else REDISMODULE_ERR


cdef bint may_read(RedisModuleUser *user, const char *key, size_t key_len) noexcept nogil:
    if user == NULL:
        return True
    cdef RedisModuleString *name = RedisModule_CreateString(NULL, key, key_len)
    cdef bint allowed = RedisModule_ACLCheckKeyPermissions(user, name, REDISMODULE_CMD_KEY_ACCESS) == REDISMODULE_OK
    RedisModule_FreeString(NULL, name)
    return allowed


cdef int reply_scan(RedisModuleCtx *ctx, bint scripts) noexcept nogil:
    cdef long n = 0
    cdef RunStats *s
    cdef RedisModuleUser *user
    if scan_user(ctx, &user) != REDISMODULE_OK:
        return RedisModule_ReplyWithError(ctx, RAI_ERR_SCAN_NO_USER)
    RedisModule_ReplyWithArray(ctx, REDISMODULE_POSTPONED_ARRAY_LEN)
    run_stats_lock()
    s = run_stats_first_locked()
    while s != NULL:
        if s.is_script == scripts and may_read(user, s.key, s.key_len):
            RedisModule_ReplyWithArray(ctx, 2)
            RedisModule_ReplyWithStringBuffer(ctx, s.key, s.key_len)
            RedisModule_ReplyWithStringBuffer(ctx, s.tag, s.tag_len)
            n += 1
        s = s.next
    run_stats_unlock()
    RedisModule_ReplySetArrayLength(ctx, n)
    if user != NULL:
        RedisModule_FreeModuleUser(user)
    return REDISMODULE_OK


cdef public int RAI_ModelScan_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc != 1:
        return RedisModule_WrongArity(ctx)
    RedisModule_Log(ctx, "warning", "MODELSCAN is experimental and might be removed in future versions")
    return reply_scan(ctx, False)


cdef public int RAI_ScriptScan_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc != 1:
        return RedisModule_WrongArity(ctx)
    RedisModule_Log(ctx, "warning", "SCRIPTSCAN is experimental and might be removed in future versions")
    return reply_scan(ctx, True)
