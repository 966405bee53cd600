# What TorchScript scripts can call besides torch (docs/BEHAVIOUR.md §9.7): redis.execute,
# redis.asList and redisAI.model_execute, as custom torch ops with Python kernels. They run on
# the worker thread that runs the script, as the client that sent the command: every Redis call
# passes that user's ACL check. The GIL is released before Redis's lock is taken (the main
# thread may hold Redis's lock while it waits for the GIL), and never held under it.
from libc.errno cimport errno, EACCES, ESPIPE
from libc.string cimport strerror
from posix.unistd cimport usleep
from redisai_module.execution.run cimport Run
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *

cdef extern from *:
    """
    static __thread void *rai_script_run = NULL;  /* the run whose script this thread executes */
    static inline void rai_set_script_run(void *run) { rai_script_run = run; }
    static inline void *rai_get_script_run(void) { return rai_script_run; }
    """
    void rai_set_script_run(void *run) nogil
    void *rai_get_script_run() nogil

REDIS_ERROR_PREFIX = "Redis command returned an error: "
cdef enum:
    PAUSE_POLL_US = 10000  # how often a script's call waiting out a client pause looks again


def register_script_extensions(torch):
    """Define the ops once per process; the returned libraries must stay referenced."""
    # torch.library.Library reads its caller's Python frame, and Cython code has none: the two
    # constructors run as a line of exec'd Python.
    made = {"Library": torch.library.Library}
    exec("redis_ops, ai_ops = Library('redis', 'DEF'), Library('redisAI', 'DEF')", made)
    redis_ops, ai_ops = made["redis_ops"], made["ai_ops"]
    # CONSERVATIVE: the ops have side effects, TorchScript must neither drop nor reorder them.
    redis_ops.define("execute(str cmd, str[] args) -> Any", alias_analysis="CONSERVATIVE")
    redis_ops.define("asList(Any v) -> Any[]", alias_analysis="CONSERVATIVE")
    redis_ops.impl("execute", _redis_execute, "CompositeExplicitAutograd")
    redis_ops.impl("asList", _redis_as_list, "CompositeExplicitAutograd")
    ai_ops.define("model_execute(str key, Tensor[] inputs, int num_outputs) -> Tensor[]",
                  alias_analysis="CONSERVATIVE")
    ai_ops.impl("model_execute", _model_execute, "CompositeExplicitAutograd")
    return redis_ops, ai_ops


def script_names(torch):
    """Name resolution for script sources: torch, redis, redisAI, in any case."""
    names = {"torch": torch, "redis": torch.ops.redis, "redisai": torch.ops.redisAI}
    return lambda name: names.get(name.lower())


# What the TORCH adapter compiles scripts with (backends/adapter_host.pyx).
ADAPTER_HOST.torch_script_ops = lambda torch: (register_script_extensions(torch), script_names(torch))


cdef Run *current_script_run() except NULL:
    cdef Run *run = <Run *>rai_get_script_run()
    if run == NULL or run.blocked_client == NULL or run.user == NULL:
        raise RuntimeError("redis and redisAI calls are only available while a script runs on a RedisAI queue")
    return run


cdef RedisModuleUser *lock_as_caller(Run *run, RedisModuleCtx **ctx, bint writable=False) noexcept nogil:
    """Take Redis's lock in a context of the run's client; its ACL user, or NULL if that user
    no longer exists. `writable`: not while Redis pauses clients, when whatever the call
    replicated would assert in Redis as the lock is released (Redis postpones its clients'
    commands the same way)."""
    cdef bint logged = False
    ctx[0] = RedisModule_GetThreadSafeContext(run.blocked_client)
    RedisModule_ThreadSafeContextLock(ctx[0])
    while writable and RedisModule_AvoidReplicaTraffic():
        if not logged:
            RedisModule_Log(ctx[0], "notice", "a script's redis.execute waits: clients are paused")
            logged = True
        RedisModule_ThreadSafeContextUnlock(ctx[0])
        usleep(PAUSE_POLL_US)
        RedisModule_ThreadSafeContextLock(ctx[0])
    return RedisModule_GetModuleUserFromUserName(run.user)


cdef void script_ext_unlock(RedisModuleCtx *ctx, RedisModuleUser *user) noexcept nogil:
    if user != NULL:
        RedisModule_FreeModuleUser(user)
    RedisModule_ThreadSafeContextUnlock(ctx)
    RedisModule_FreeThreadSafeContext(ctx)


# RedisModule_Call's flags (`v`: the argument vector): `!` replicates like the client's own
# command; `S` (script mode) refuses what Lua may not call either, decided by Redis from the
# command's own flags: `noscript` (WAIT on 7.0, CLIENT PAUSE, FAILOVER, MULTI/EXEC, SUBSCRIBE,
# MONITOR, SHUTDOWN, DEBUG, CONFIG, and EVAL/EVALSHA/FCALL, whose scripts would run beyond our
# ACL check), writes on a read-only replica or without enough good replicas; `C` runs the
# command as the caller's ACL user, so what it checks of its client's user (SORT's BY/GET
# patterns) is the caller's. RedisModule_Call never lets a command block (XREAD BLOCK answers at
# once, as in Lua).
cdef RedisModuleCallReply *call_as_caller(Run *run, RedisModuleString **argv, int argc, int *error) noexcept nogil:
    """argv[0] is the command. NULL with *error an errno when Redis refuses before running it:
    ACL (EACCES), unknown command (ENOENT), arity (EINVAL). A command script mode refuses
    (ESPIPE) gets Redis's error reply saying why instead."""
    cdef RedisModuleCtx *ctx
    cdef RedisModuleCallReply *reply = NULL
    cdef const char *name
    cdef size_t n
    cdef int k
    cdef RedisModuleUser *user = lock_as_caller(run, &ctx, True)
    # Checked here as well as by `C`: Redis 7.0 crashes logging a refusal of `C` from a thread-safe
    # context (its client has no user), so `C` must never be the one that refuses.
    if user == NULL:
        error[0] = EACCES
    elif RedisModule_ACLCheckCommandPermissions(user, argv, argc) != REDISMODULE_OK:
        error[0] = errno
    else:
        name = RedisModule_StringPtrLen(argv[0], &n)
        RedisModule_SetContextUser(ctx, user)
        reply = RedisModule_Call(ctx, name, "!vSC", argv + 1, <size_t>(argc - 1))
        error[0] = errno
        if reply == NULL and error[0] == ESPIPE:
            # refused again before running (same state, same lock): now with the reason's text
            reply = RedisModule_Call(ctx, name, "!vSCE", argv + 1, <size_t>(argc - 1))
    for k in range(argc):  # under the lock: a SET may have kept a reference to its value
        RedisModule_FreeString(NULL, argv[k])
    script_ext_unlock(ctx, user)
    return reply


cdef object reply_to_python(RedisModuleCallReply *reply):
    """null → None, string → str, integer → int, array → tuple (heterogeneous, recursively;
    redis.asList makes it a list); an error reply raises."""
    cdef size_t n, k
    cdef const char *s
    cdef int kind = RedisModule_CallReplyType(reply)
    if kind == REDISMODULE_REPLY_INTEGER:
        return RedisModule_CallReplyInteger(reply)
    if kind == REDISMODULE_REPLY_ARRAY:
        return tuple(reply_to_python(RedisModule_CallReplyArrayElement(reply, k))
                     for k in range(RedisModule_CallReplyLength(reply)))
    if kind == REDISMODULE_REPLY_STRING or kind == REDISMODULE_REPLY_ERROR:
        s = RedisModule_CallReplyStringPtr(reply, &n)
        text = s[:n].decode("utf-8", "replace")
        if kind == REDISMODULE_REPLY_ERROR:
            raise RuntimeError(REDIS_ERROR_PREFIX + text)
        return text
    return None


def _redis_execute(cmd, args):
    cdef Run *run = current_script_run()
    words = [w.encode("utf-8") for w in [cmd, *args]]
    cdef int argc = len(words), k, error = 0
    cdef RedisModuleString **argv = <RedisModuleString **>RedisModule_Alloc(argc * sizeof(RedisModuleString *))
    for k in range(argc):
        argv[k] = RedisModule_CreateString(NULL, <const char *>words[k], len(words[k]))
    with nogil:
        reply = call_as_caller(run, argv, argc, &error)
    RedisModule_Free(argv)
    if reply == NULL:
        raise RuntimeError(REDIS_ERROR_PREFIX + strerror(error).decode())
    try:
        return reply_to_python(reply)
    finally:
        RedisModule_FreeCallReply(reply)


def _redis_as_list(value):
    if not isinstance(value, (list, tuple)):
        raise RuntimeError("redis.asList expects a list reply")
    return list(value)


cdef RaiModel *model_as_caller(Run *run, RedisModuleString *name, ErrorValue *err) noexcept nogil:
    """A reference to the model stored at `name`, if the caller may read that key."""
    cdef RedisModuleCtx *ctx
    cdef RedisModuleKey *key
    cdef RaiModel *m = NULL
    cdef RedisModuleUser *user = lock_as_caller(run, &ctx)
    if user == NULL or RedisModule_ACLCheckKeyPermissions(user, name, REDISMODULE_CMD_KEY_ACCESS) != REDISMODULE_OK:
        error_set(err, E_NOPERM_MODEL_KEY)
    else:
        key = open_value_key(ctx, name, RAI_ModelType, REDISMODULE_READ, E_MODEL_EMPTY, err)
        if key != NULL:
            m = model_incref(<RaiModel *>RedisModule_ModuleTypeGetValue(key))
            RedisModule_CloseKey(key)
    RedisModule_FreeString(NULL, name)
    script_ext_unlock(ctx, user)
    return m


def _model_execute(key, inputs, num_outputs):
    """Synchronous, on this worker: no queue, no batching, no statistics (docs/BEHAVIOUR.md §9.7)."""
    cdef Run *run = current_script_run()
    cdef ErrorValue err
    encoded = key.encode("utf-8")
    cdef RedisModuleString *name = RedisModule_CreateString(NULL, <const char *>encoded, len(encoded))
    with nogil:
        m = model_as_caller(run, name, &err)
    if m == NULL:
        raise RuntimeError(err.text.decode())
    try:
        adapter = backend_adapter(m.backend)
        if adapter is None or m.head.handle == NULL:
            raise RuntimeError(backend_not_loaded(m.backend))
        import torch
        if m.backend != RAI_BACKEND_TORCH:
            inputs = [t.detach().contiguous().cpu() for t in inputs]
        results = adapter.run(<object>m.head.handle, [t.contiguous() for t in inputs])
        if len(results) < num_outputs:
            raise RuntimeError(RAI_ERR_OUTPUT_COUNT_MISMATCH.decode())
        if any(r is None or is_string_array(r) for r in results[:num_outputs]):
            raise RuntimeError(RAI_ERR_MODEL_EXECUTE_NOT_A_TENSOR.decode())
        return [r if isinstance(r, torch.Tensor) else torch.from_numpy(as_numpy(r))
                for r in results[:num_outputs]]
    finally:
        model_decref(m)
