# AI.SCRIPTGET <key> [META] [SOURCE]   AI.SCRIPTDEL <key>   AI._SCRIPTSCAN     (COMMANDS.md §6.3-6.7)
from libc.string cimport strlen
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *


cdef public int RAI_ScriptGet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc < 2 or argc > 4:
        return RedisModule_WrongArity(ctx)
    cdef const char *err = NULL
    cdef RedisModuleKey *key = open_value_key(ctx, argv[1], RAI_ScriptType, REDISMODULE_READ,
                                              RAI_ERR_SCRIPT_EMPTY, &err)
    if key == NULL:
        return RedisModule_ReplyWithError(ctx, err)
    cdef RaiScript *s = <RaiScript *>RedisModule_ModuleTypeGetValue(key)
    cdef bint meta = False, source = False
    cdef int i
    for i in range(2, argc):
        if arg_is(argv[i], "META", 4):
            meta = True
        elif arg_is(argv[i], "SOURCE", 6):
            source = True
    if source and not meta:
        RedisModule_ReplyWithStringBuffer(ctx, s.source, s.source_len)
        RedisModule_CloseKey(key)
        return REDISMODULE_OK
    source = not meta or source
    RedisModule_ReplyWithArray(ctx, 8 if source else 6)
    RedisModule_ReplyWithCString(ctx, "device")
    RedisModule_ReplyWithCString(ctx, s.head.device)
    RedisModule_ReplyWithCString(ctx, "tag")
    RedisModule_ReplyWithStringBuffer(ctx, s.head.tag, s.head.tag_len)
    RedisModule_ReplyWithCString(ctx, "Entry Points")
    reply_name_list(ctx, s.entry_points, s.nentry_points)
    if source:
        RedisModule_ReplyWithCString(ctx, "source")
        RedisModule_ReplyWithStringBuffer(ctx, s.source, s.source_len)
    RedisModule_CloseKey(key)
    return REDISMODULE_OK


cdef public int RAI_ScriptDel_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc != 2:
        return RedisModule_WrongArity(ctx)
    cdef const char *err = NULL
    cdef RedisModuleKey *key = open_value_key(ctx, argv[1], RAI_ScriptType,
                                              REDISMODULE_READ | REDISMODULE_WRITE, RAI_ERR_SCRIPT_EMPTY, &err)
    if key == NULL:
        return RedisModule_ReplyWithError(ctx, err)
    RedisModule_DeleteKey(key)
    RedisModule_CloseKey(key)
    RedisModule_ReplicateVerbatim(ctx)
    return RedisModule_ReplyWithSimpleString(ctx, "OK")


cdef public int RAI_ScriptScan_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc != 1:
        return RedisModule_WrongArity(ctx)
    RedisModule_Log(ctx, "warning", "SCRIPTSCAN is experimental and might be removed in future versions")
    return reply_scan(ctx, True)
