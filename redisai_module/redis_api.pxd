# The Redis Module API as the Cython code sees it: the one place that declares it.
# Every RedisModule_* symbol is a function pointer filled by RedisModule_Init in the C shim;
# both live in the same shared object, so they share one copy (see src/module.c).
from libc.stdint cimport int64_t, uint64_t

cdef extern from "redismodule.h" nogil:
    ctypedef struct RedisModuleCtx
    ctypedef struct RedisModuleKey
    ctypedef struct RedisModuleString
    ctypedef struct RedisModuleIO
    ctypedef struct RedisModuleType
    ctypedef struct RedisModuleBlockedClient

    int REDISMODULE_OK
    int REDISMODULE_ERR
    int REDISMODULE_READ
    int REDISMODULE_WRITE
    int REDISMODULE_KEYTYPE_EMPTY
    int REDISMODULE_KEYTYPE_MODULE
    long long REDISMODULE_NO_EXPIRE
    long REDISMODULE_POSTPONED_ARRAY_LEN
    int REDISMODULE_CTX_FLAGS_MULTI
    int REDISMODULE_CTX_FLAGS_LUA
    int REDISMODULE_CTX_FLAGS_DENY_BLOCKING
    int REDISMODULE_CTX_FLAGS_SLAVE
    int REDISMODULE_CTX_FLAGS_REPLICATED
    int REDISMODULE_CTX_FLAGS_LOADING

    # memory: the Redis allocator, so INFO memory, MEMORY USAGE and maxmemory see our data
    void *RedisModule_Alloc(size_t bytes)
    void *RedisModule_TryAlloc(size_t bytes)
    void *RedisModule_Realloc(void *ptr, size_t bytes)
    void RedisModule_Free(void *ptr)
    size_t RedisModule_MallocSize(void *ptr)

    # strings and arguments
    const char *RedisModule_StringPtrLen(const RedisModuleString *s, size_t *length)
    int RedisModule_StringToLongLong(const RedisModuleString *s, long long *ll)
    int RedisModule_StringToDouble(const RedisModuleString *s, double *d)
    RedisModuleString *RedisModule_CreateString(RedisModuleCtx *ctx, const char *ptr, size_t length)
    RedisModuleString *RedisModule_CreateStringFromLongLong(RedisModuleCtx *ctx, long long ll)
    void RedisModule_FreeString(RedisModuleCtx *ctx, RedisModuleString *s)
    RedisModuleString *RedisModule_HoldString(RedisModuleCtx *ctx, RedisModuleString *s)
    RedisModuleString *RedisModule_CreateStringFromString(RedisModuleCtx *ctx, const RedisModuleString *s)

    # keys
    RedisModuleKey *RedisModule_OpenKey(RedisModuleCtx *ctx, RedisModuleString *keyname, int mode)
    void RedisModule_CloseKey(RedisModuleKey *key)
    int RedisModule_DeleteKey(RedisModuleKey *key)
    int RedisModule_KeyType(RedisModuleKey *key)
    RedisModuleType *RedisModule_ModuleTypeGetType(RedisModuleKey *key)
    void *RedisModule_ModuleTypeGetValue(RedisModuleKey *key)
    int RedisModule_ModuleTypeSetValue(RedisModuleKey *key, RedisModuleType *mt, void *value)
    int RedisModule_ModuleTypeReplaceValue(RedisModuleKey *key, RedisModuleType *mt, void *new_value,
                                           void **old_value)
    long long RedisModule_GetExpire(RedisModuleKey *key)
    int RedisModule_SetExpire(RedisModuleKey *key, long long expire)

    # streams: a DAG's XLOAD reads one entry (docs/COMMANDS.md §7.5)
    int REDISMODULE_KEYTYPE_STREAM
    int REDISMODULE_STREAM_ITERATOR_REVERSE
    ctypedef struct RedisModuleStreamID:
        uint64_t ms
        uint64_t seq
    int RedisModule_StringToStreamID(const RedisModuleString *s, RedisModuleStreamID *id)
    int RedisModule_StringCompare(RedisModuleString *a, RedisModuleString *b)
    int RedisModule_StreamIteratorStart(RedisModuleKey *key, int flags, RedisModuleStreamID *startid,
                                        RedisModuleStreamID *endid)
    int RedisModule_StreamIteratorStop(RedisModuleKey *key)
    int RedisModule_StreamIteratorNextID(RedisModuleKey *key, RedisModuleStreamID *id, long *numfields)
    # standing pipelines (docs/COMMANDS.md §7.6): woken by XADDs to their input streams
    int REDISMODULE_NOTIFY_STREAM
    ctypedef int (*RedisModuleNotificationFunc)(RedisModuleCtx *ctx, int type, const char *event,
                                                RedisModuleString *key) noexcept nogil
    int RedisModule_SubscribeToKeyspaceEvents(RedisModuleCtx *ctx, int types, RedisModuleNotificationFunc cb)
    int RedisModule_StreamIteratorNextField(RedisModuleKey *key, RedisModuleString **field_ptr,
                                            RedisModuleString **value_ptr)

    # replies and replication
    int RedisModule_WrongArity(RedisModuleCtx *ctx)
    int RedisModule_ReplyWithError(RedisModuleCtx *ctx, const char *err)
    int RedisModule_ReplyWithSimpleString(RedisModuleCtx *ctx, const char *msg)
    int RedisModule_ReplyWithArray(RedisModuleCtx *ctx, long length)
    void RedisModule_ReplySetArrayLength(RedisModuleCtx *ctx, long length)
    int RedisModule_ReplyWithLongLong(RedisModuleCtx *ctx, long long ll)
    int RedisModule_ReplyWithDouble(RedisModuleCtx *ctx, double d)
    int RedisModule_ReplyWithNull(RedisModuleCtx *ctx)
    int RedisModule_ReplyWithCString(RedisModuleCtx *ctx, const char *buf)
    int RedisModule_ReplyWithStringBuffer(RedisModuleCtx *ctx, const char *buf, size_t length)
    int RedisModule_ReplyWithString(RedisModuleCtx *ctx, RedisModuleString *str)
    int RedisModule_ReplicateVerbatim(RedisModuleCtx *ctx)
    int RedisModule_Replicate(RedisModuleCtx *ctx, const char *cmdname, const char *fmt, ...)

    # blocking commands (execution/)
    int RedisModule_GetContextFlags(RedisModuleCtx *ctx)
    int RedisModule_IsKeysPositionRequest(RedisModuleCtx *ctx)
    void RedisModule_KeyAtPos(RedisModuleCtx *ctx, int pos)
    void RedisModule_KeyAtPosWithFlags(RedisModuleCtx *ctx, int pos, int flags)
    int REDISMODULE_CMD_KEY_RO
    int REDISMODULE_CMD_KEY_RW
    int REDISMODULE_CMD_KEY_OW
    int REDISMODULE_CMD_KEY_UPDATE
    RedisModuleBlockedClient *RedisModule_BlockClient(
        RedisModuleCtx *ctx, int (*reply_callback)(RedisModuleCtx *, RedisModuleString **, int) noexcept nogil,
        int (*timeout_callback)(RedisModuleCtx *, RedisModuleString **, int) noexcept nogil,
        void (*free_privdata)(RedisModuleCtx *, void *) noexcept nogil, long long timeout_ms)
    int RedisModule_UnblockClient(RedisModuleBlockedClient *bc, void *privdata)
    void *RedisModule_GetBlockedClientPrivateData(RedisModuleCtx *ctx)
    int RedisModule_BlockedClientMeasureTimeStart(RedisModuleBlockedClient *bc)
    int RedisModule_BlockedClientMeasureTimeEnd(RedisModuleBlockedClient *bc)
    int RedisModule_AvoidReplicaTraffic()
    int RedisModule_EventLoopAddOneShot(void (*func)(void *) noexcept nogil, void *user_data)

    # asynchronous DAGs: their records, the caller's database, the end announced
    ctypedef struct RedisModuleDict
    RedisModuleDict *RedisModule_CreateDict(RedisModuleCtx *ctx)
    int RedisModule_DictSetC(RedisModuleDict *d, void *key, size_t keylen, void *ptr)
    void *RedisModule_DictGetC(RedisModuleDict *d, void *key, size_t keylen, int *nokey)
    int RedisModule_DictDelC(RedisModuleDict *d, void *key, size_t keylen, void *oldval)
    uint64_t RedisModule_DictSize(RedisModuleDict *d)
    int RedisModule_GetSelectedDb(RedisModuleCtx *ctx)
    int RedisModule_SelectDb(RedisModuleCtx *ctx, int newid)
    int RedisModule_NotifyKeyspaceEvent(RedisModuleCtx *ctx, int type, const char *event, RedisModuleString *key)
    int REDISMODULE_NOTIFY_MODULE
    long long RedisModule_Milliseconds()

    # persistence (type callbacks)
    void RedisModule_SaveUnsigned(RedisModuleIO *io, uint64_t value)
    uint64_t RedisModule_LoadUnsigned(RedisModuleIO *io)
    void RedisModule_SaveSigned(RedisModuleIO *io, int64_t value)
    int64_t RedisModule_LoadSigned(RedisModuleIO *io)
    void RedisModule_SaveStringBuffer(RedisModuleIO *io, const char *s, size_t length)
    char *RedisModule_LoadStringBuffer(RedisModuleIO *io, size_t *length)
    int RedisModule_IsIOError(RedisModuleIO *io)
    const RedisModuleString *RedisModule_GetKeyNameFromIO(RedisModuleIO *io)
    void RedisModule_LogIOError(RedisModuleIO *io, const char *level, const char *fmt, ...)
    void RedisModule_EmitAOF(RedisModuleIO *io, const char *cmdname, const char *fmt, ...)
    int RedisModule_GetDbIdFromIO(RedisModuleIO *io)

    # the low-level API other modules call (llapi/)
    int RedisModule_ExportSharedAPI(RedisModuleCtx *ctx, const char *apiname, void *func)

    # INFO MODULES sections
    ctypedef struct RedisModuleInfoCtx
    int RedisModule_InfoAddSection(RedisModuleInfoCtx *ctx, const char *name)
    int RedisModule_InfoAddFieldCString(RedisModuleInfoCtx *ctx, const char *field, const char *value)
    int RedisModule_InfoAddFieldLongLong(RedisModuleInfoCtx *ctx, const char *field, long long value)
    int RedisModule_InfoBeginDictField(RedisModuleInfoCtx *ctx, const char *name)
    int RedisModule_InfoEndDictField(RedisModuleInfoCtx *ctx)

    int RedisModule_GetServerVersion()  # 0x00MMmmpp

    # logging
    void RedisModule_Log(RedisModuleCtx *ctx, const char *level, const char *fmt, ...)

    # scripts calling Redis (redis.execute, redisAI.model_execute) from a worker thread
    ctypedef struct RedisModuleCallReply
    ctypedef struct RedisModuleUser
    int REDISMODULE_REPLY_STRING
    int REDISMODULE_REPLY_ERROR
    int REDISMODULE_REPLY_INTEGER
    int REDISMODULE_REPLY_ARRAY
    int REDISMODULE_REPLY_NULL
    int REDISMODULE_CMD_KEY_ACCESS
    RedisModuleCtx *RedisModule_GetThreadSafeContext(RedisModuleBlockedClient *bc)
    RedisModuleCtx *RedisModule_GetDetachedThreadSafeContext(RedisModuleCtx *ctx)
    void RedisModule_FreeThreadSafeContext(RedisModuleCtx *ctx)
    void RedisModule_ThreadSafeContextLock(RedisModuleCtx *ctx)
    void RedisModule_ThreadSafeContextUnlock(RedisModuleCtx *ctx)
    RedisModuleCallReply *RedisModule_Call(RedisModuleCtx *ctx, const char *cmdname, const char *fmt, ...)
    void RedisModule_FreeCallReply(RedisModuleCallReply *reply)
    int RedisModule_CallReplyType(RedisModuleCallReply *reply)
    long long RedisModule_CallReplyInteger(RedisModuleCallReply *reply)
    size_t RedisModule_CallReplyLength(RedisModuleCallReply *reply)
    RedisModuleCallReply *RedisModule_CallReplyArrayElement(RedisModuleCallReply *reply, size_t idx)
    const char *RedisModule_CallReplyStringPtr(RedisModuleCallReply *reply, size_t *len)
    RedisModuleString *RedisModule_GetCurrentUserName(RedisModuleCtx *ctx)
    RedisModuleUser *RedisModule_GetModuleUserFromUserName(RedisModuleString *name)
    void RedisModule_FreeModuleUser(RedisModuleUser *user)
    void RedisModule_SetContextUser(RedisModuleCtx *ctx, const RedisModuleUser *user)
    RedisModuleString *RedisModule_GetClientUserNameById(RedisModuleCtx *ctx, unsigned long long id)
    unsigned long long RedisModule_GetClientId(RedisModuleCtx *ctx)
    int RedisModule_ACLCheckCommandPermissions(RedisModuleUser *user, RedisModuleString **argv, int argc)
    int RedisModule_ACLCheckKeyPermissions(RedisModuleUser *user, RedisModuleString *key, int flags)
    ctypedef enum RedisModuleACLLogEntryReason:
        REDISMODULE_ACL_LOG_KEY
    void RedisModule_ACLAddLogEntry(RedisModuleCtx *ctx, RedisModuleUser *user, RedisModuleString *object,
                                    RedisModuleACLLogEntryReason reason)
