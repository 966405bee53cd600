# Opening a key that holds one of the module's values, with RedisAI's type checks: commands do,
# and so do a running script's calls back into Redis (execution/script_extensions.pyx).
from redisai_module.redis_api cimport *


cdef inline bint key_holds(RedisModuleKey *key, RedisModuleType *type) noexcept nogil:
    return (RedisModule_KeyType(key) == REDISMODULE_KEYTYPE_MODULE
            and RedisModule_ModuleTypeGetType(key) == type)


cdef RedisModuleKey *open_value_key(RedisModuleCtx *ctx, RedisModuleString *name, RedisModuleType *type,
                                    int mode, int empty_code, ErrorValue *err) noexcept nogil:
    """A key holding a value of `type`; NULL with `err` (empty_code's or WRONGTYPE) otherwise."""
    cdef RedisModuleKey *key = <RedisModuleKey *>RedisModule_OpenKey(ctx, name, mode)
    if RedisModule_KeyType(key) == REDISMODULE_KEYTYPE_EMPTY:
        RedisModule_CloseKey(key)
        error_set(err, empty_code)
        return NULL
    if not key_holds(key, type):
        RedisModule_CloseKey(key)
        error_set(err, E_WRONGTYPE)
        return NULL
    return key
