# Opening tensor keys for commands, and the caller's ACL check of keys Redis cannot check
# (opening a model's or script's key: objects/value_keys.pyx).
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef inline bint key_holds_tensor(RedisModuleKey *key) noexcept nogil:
    return key_holds(key, RAI_TensorType)


cdef RedisModuleKey *open_tensor_key_for_write(RedisModuleCtx *ctx, RedisModuleString *name,
                                               ErrorValue *err) noexcept nogil:
    """The key, empty or holding a tensor; NULL with WRONGTYPE in `err` otherwise."""
    cdef RedisModuleKey *key = <RedisModuleKey *>RedisModule_OpenKey(
        ctx, name, REDISMODULE_READ | REDISMODULE_WRITE)
    if RedisModule_KeyType(key) != REDISMODULE_KEYTYPE_EMPTY and not key_holds_tensor(key):
        RedisModule_CloseKey(key)
        error_set(err, E_WRONGTYPE)
        return NULL
    return key


cdef RaiTensor *read_tensor_key(RedisModuleCtx *ctx, RedisModuleString *name, RedisModuleKey **keyp,
                                ErrorValue *err) noexcept nogil:
    """The tensor stored at `name`, valid while *keyp stays open; NULL with `err` otherwise."""
    cdef RedisModuleKey *key = <RedisModuleKey *>RedisModule_OpenKey(ctx, name, REDISMODULE_READ)
    if RedisModule_KeyType(key) == REDISMODULE_KEYTYPE_EMPTY:
        RedisModule_CloseKey(key)
        error_set(err, E_TENSOR_EMPTY)
        return NULL
    if not key_holds_tensor(key):
        RedisModule_CloseKey(key)
        error_set(err, E_WRONGTYPE)
        return NULL
    keyp[0] = key
    return <RaiTensor *>RedisModule_ModuleTypeGetValue(key)


cdef void store_tensor(RedisModuleKey *key, RaiTensor *t) noexcept nogil:
    """Put `t` (its reference moves to the key) into a key opened by open_tensor_key_for_write.
    Overwriting a tensor swaps the value in place, skipping Redis's object allocations, and
    drops the TTL exactly as a fresh set does."""
    cdef void *old = NULL
    if RedisModule_KeyType(key) == REDISMODULE_KEYTYPE_EMPTY:
        RedisModule_ModuleTypeSetValue(key, RAI_TensorType, t)
        return
    RedisModule_ModuleTypeReplaceValue(key, RAI_TensorType, t, &old)
    tensor_decref(<RaiTensor *>old)
    if RedisModule_GetExpire(key) != REDISMODULE_NO_EXPIRE:
        RedisModule_SetExpire(key, REDISMODULE_NO_EXPIRE)


cdef void notify_tensor_written(RedisModuleCtx *ctx, RedisModuleString *name) noexcept nogil:
    """A tensor stored under `name` is announced like any write: the keyspace event
    `ai.tensorset` (class d, module) on the key, whichever command or DAG stored it."""
    RedisModule_NotifyKeyspaceEvent(ctx, REDISMODULE_NOTIFY_MODULE, "ai.tensorset", name)


cdef int noperm_key_code() noexcept nogil:
    """The server's own text for a refused key, so that the keys this module checks are refused
    with the words Redis uses for the keys it checks."""
    return E_NOPERM_KEY if RedisModule_GetServerVersion() < 0x00070200 else E_NOPERM_KEY_SINCE_7_2


cdef bint key_permitted(RedisModuleCtx *ctx, RedisModuleString *key, int flags, ErrorValue *err) noexcept nogil:
    """The caller's ACL check of a key Redis could not check because the command does not report
    it (docs/COMMANDS.md §11 keeps upstream's gaps, for cluster routing). `flags`: ACCESS to read,
    UPDATE to write. False with NOPERM in `err`, after adding it to ACL LOG as Redis does."""
    cdef RedisModuleString *name = RedisModule_GetCurrentUserName(ctx)
    if name == NULL:
        return True  # no client user (a module's or Redis's own call)
    cdef RedisModuleUser *user = RedisModule_GetModuleUserFromUserName(name)
    RedisModule_FreeString(NULL, name)
    if user == NULL:
        error_set(err, noperm_key_code())  # the user was deleted under the connection
        return False
    cdef bint ok = RedisModule_ACLCheckKeyPermissions(user, key, flags) == REDISMODULE_OK
    if not ok:
        RedisModule_ACLAddLogEntry(ctx, user, key, REDISMODULE_ACL_LOG_KEY)
        error_set(err, noperm_key_code())
    RedisModule_FreeModuleUser(user)
    return ok
