# The keys that hold a model or a script (a runnable, objects/runnable.pxd): which Redis type
# and empty-key error each kind has, opening one (AI.*GET, AI.*DEL, every run, the LLAPI), and
# storing a new value under one (AI.MODELSTORE/SET, AI.SCRIPTSTORE/SET).
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.redis_api cimport *


cdef inline RedisModuleType *runnable_key_type(bint is_script) noexcept nogil:
    return RAI_ScriptType if is_script else RAI_ModelType


cdef RedisModuleKey *open_runnable_key(RedisModuleCtx *ctx, RedisModuleString *name, bint is_script, int mode,
                                       void **value, ErrorValue *err) noexcept nogil:
    """The key holding a script (or a model) with *value set; NULL with `err` otherwise (the
    kind's empty-key error, or WRONGTYPE)."""
    cdef RedisModuleKey *key = open_value_key(ctx, name, runnable_key_type(is_script), mode,
                                              E_SCRIPT_EMPTY if is_script else E_MODEL_EMPTY, err)
    if key != NULL:
        value[0] = RedisModule_ModuleTypeGetValue(key)
    return key


cdef int store_runnable(RedisModuleCtx *ctx, RedisModuleString *key_name, RaiRunnable *h,
                        const ErrorValue *parse_error) noexcept nogil:
    """The store commands' last step: reply `parse_error` if their parser gave no value (h NULL);
    else load h into its backend, store it (its reference moves to the key) and reply, or reply
    the backend's error on one line. Loading comes before the key's type check, as in RedisAI.
    Every store command is replicated verbatim."""
    if h == NULL:
        return reply_error_value(ctx, parse_error)
    cdef char *error = runnable_load(h)
    if error != NULL:
        runnable_decref(h)
        RedisModule_ReplyWithError(ctx, runnable_error_one_line(error))
        RedisModule_Free(error)
        return REDISMODULE_OK
    cdef RedisModuleType *type = runnable_key_type(h.is_script)
    cdef RedisModuleKey *key = <RedisModuleKey *>RedisModule_OpenKey(ctx, key_name, REDISMODULE_READ | REDISMODULE_WRITE)
    if RedisModule_KeyType(key) != REDISMODULE_KEYTYPE_EMPTY and not key_holds(key, type):
        RedisModule_CloseKey(key)
        runnable_decref(h)
        return RedisModule_ReplyWithError(ctx, RAI_ERR_WRONGTYPE)
    cdef size_t key_len
    cdef const char *name = RedisModule_StringPtrLen(key_name, &key_len)
    runnable_track_stats(h, name, key_len)
    RedisModule_ModuleTypeSetValue(key, type, h)
    RedisModule_CloseKey(key)
    ensure_run_queue(h.device)  # the device's queue and workers exist from now on
    RedisModule_ReplicateVerbatim(ctx)
    return RedisModule_ReplyWithSimpleString(ctx, "OK")
