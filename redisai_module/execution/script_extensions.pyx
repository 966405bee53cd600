# What TorchScript scripts can call besides torch (docs/BEHAVIOUR.md §9.7): redis.execute,
# redis.asList and redisAI.model_execute, C++ kernels of custom torch ops
# (backends/torch_script_ops.hpp) that call the hooks here (src/native_runner.h). They run on the
# worker that runs the script, with no GIL, as the client that sent the command: every Redis call
# passes that user's ACL check, and runs on the main thread (below).
from cpython.pycapsule cimport PyCapsule_New
from libc.errno cimport errno, EACCES, EINVAL, ENOENT
from libc.stdio cimport snprintf
from libc.stdlib cimport malloc
from libc.string cimport memcmp, strdup, strerror, strlen  # strdup: the C++ side frees errors with free()
from redisai_module.dlpack cimport DLTensor, kDLString
from redisai_module.execution.run cimport Run
from redisai_module.native_runner cimport RaiScriptHooks, RAI_SCRIPT_HOOKS_CAPSULE
from redisai_module.objects.model cimport RaiModel
from redisai_module.pthreads cimport *
from redisai_module.redis_api cimport *

cdef extern from *:
    """
    static __thread void *rai_script_run = NULL;  /* the run whose script this thread executes */
    static inline void rai_set_script_run(void *run) { rai_script_run = run; }
    static inline void *rai_get_script_run(void) { return rai_script_run; }
    static inline void rai_clear_errno(void) { errno = 0; }
    """
    void rai_set_script_run(void *run) nogil
    void *rai_get_script_run() nogil
    void rai_clear_errno() nogil

cdef Run *current_script_run(char **error) noexcept nogil:
    """The run whose script calls, or NULL with *error set (an LLAPI run has no client to act as)."""
    cdef Run *run = <Run *>rai_get_script_run()
    if run == NULL or run.user == NULL:
        error[0] = strdup(RAI_ERR_SCRIPT_CALL_OUTSIDE_RUN)
        return NULL
    return run


# A script's Redis calls run on the main thread, as Lua's do, handed over through
# call_on_main_thread (before Redis sleeps, never while loading or while clients are paused) while
# the worker waits. Not from the worker under the GIL: what a command does to
# other clients (PUBLISH and keyspace events to subscribers, MONITOR feeds) asserts on the main
# thread in Redis 8.0, and its IO threads own clients that no other thread may touch.
ctypedef struct Handoff:
    pthread_mutex_t lock
    pthread_cond_t cond
    bint done

ctypedef struct RedisCallHandoff:
    Handoff handoff                 # first: the data pointer is the handoff's too
    Run *run
    RedisModuleString **argv        # argv[0] the command; freed on the main thread
    int argc
    RedisModuleCallReply *reply
    int error                       # errno when Redis refused before running the command

# Main thread only. The context every script call runs in: replies keep a pointer to the
# context they came from (RedisModule_FreeCallReply reads it), and workers free replies later,
# so it is never freed.
cdef RedisModuleCtx *script_calls_ctx = NULL


cdef void on_main_thread(WritableCall step, Handoff *h) noexcept nogil:
    """Run step(ctx, h) on the main thread; return when it called handoff_done(h)."""
    pthread_mutex_init(&h.lock, NULL)
    pthread_cond_init(&h.cond, NULL)
    h.done = False
    call_on_main_thread(step, h, "a script's redis.execute waits: clients are paused")
    pthread_mutex_lock(&h.lock)
    while not h.done:
        pthread_cond_wait(&h.cond, &h.lock)
    pthread_mutex_unlock(&h.lock)
    pthread_cond_destroy(&h.cond)
    pthread_mutex_destroy(&h.lock)


cdef void handoff_done(Handoff *h) noexcept nogil:
    pthread_mutex_lock(&h.lock)
    h.done = True
    pthread_cond_signal(&h.cond)
    pthread_mutex_unlock(&h.lock)


cdef RedisModuleUser *act_as_caller(RedisModuleCtx *ctx, Run *run) noexcept nogil:
    """Main thread: the script calls' context in the caller's database; the caller's ACL user,
    or NULL if that user no longer exists."""
    global script_calls_ctx
    if script_calls_ctx == NULL:
        script_calls_ctx = RedisModule_GetDetachedThreadSafeContext(ctx)
    RedisModule_SelectDb(script_calls_ctx, run.db)
    return RedisModule_GetModuleUserFromUserName(run.user)


# RedisModule_Call's flags (`v`: the argument vector): `!` replicates like the client's own
# command; `S` (script mode) refuses what Lua may not call either, decided by Redis from the
# command's own flags: `noscript` (WAIT on 7.0, CLIENT PAUSE, FAILOVER, MULTI/EXEC, SUBSCRIBE,
# MONITOR, SHUTDOWN, DEBUG, CONFIG, and EVAL/EVALSHA/FCALL, whose scripts would run beyond our
# ACL check), writes on a read-only replica or without enough good replicas; `C` runs the
# command as the caller's ACL user, so what it checks of its client's user (SORT's BY/GET
# patterns) is the caller's. RedisModule_Call never lets a command block (XREAD BLOCK answers at
# once, as in Lua).
cdef bint refused_by_errno(RedisModuleCallReply *reply, int error) noexcept nogil:
    """An unknown command or a wrong arity, which scripts report by errno as RedisAI did
    (docs/BEHAVIOUR.md §9.7). errno alone does not tell: a command that ran may leave one behind
    from its own library calls, so the reply must also be Redis's refusal."""
    cdef size_t n
    cdef const char *text
    if reply == NULL or (error != ENOENT and error != EINVAL):
        return False
    if RedisModule_CallReplyType(reply) != REDISMODULE_REPLY_ERROR:
        return False
    text = RedisModule_CallReplyStringPtr(reply, &n)
    if error == ENOENT:
        return starts_with(text, n, RAI_ERR_REDIS_UNKNOWN_COMMAND) or starts_with(text, n, RAI_ERR_REDIS_UNKNOWN_SUBCOMMAND)
    return starts_with(text, n, RAI_ERR_REDIS_WRONG_ARITY)


cdef bint starts_with(const char *text, size_t n, const char *prefix) noexcept nogil:
    cdef size_t k = strlen(prefix)
    return n >= k and memcmp(text, prefix, k) == 0


cdef void script_call_step(RedisModuleCtx *ctx, void *data) noexcept nogil:
    cdef RedisCallHandoff *c = <RedisCallHandoff *>data
    cdef const char *name
    cdef size_t n
    cdef int k
    cdef RedisModuleUser *user = act_as_caller(ctx, c.run)
    # Checked here as well as by `C`: Redis 7.0 crashes logging a refusal of `C` from a context
    # with no client user, so `C` must never be the one that refuses.
    if user == NULL:
        c.error = EACCES
    elif RedisModule_ACLCheckCommandPermissions(user, c.argv, c.argc) != REDISMODULE_OK:
        c.error = errno
    else:
        name = RedisModule_StringPtrLen(c.argv[0], &n)
        RedisModule_SetContextUser(script_calls_ctx, user)
        # `E` always: Valkey 9.1 crashes on a script-mode refusal without it (sdslen of a NULL
        # message). A refusal is then an error reply, with errno set.
        rai_clear_errno()
        c.reply = RedisModule_Call(script_calls_ctx, name, "!vSCE", c.argv + 1, <size_t>(c.argc - 1))
        c.error = errno
        if refused_by_errno(c.reply, c.error):
            RedisModule_FreeCallReply(c.reply)
            c.reply = NULL
        RedisModule_SetContextUser(script_calls_ctx, NULL)
    for k in range(c.argc):  # here: a SET may have kept a reference to its value
        RedisModule_FreeString(NULL, c.argv[k])
    if user != NULL:
        RedisModule_FreeModuleUser(user)
    handoff_done(&c.handoff)


cdef RedisModuleCallReply *call_as_caller(Run *run, RedisModuleString **argv, int argc, int *error) noexcept nogil:
    """argv[0] is the command. NULL with *error an errno when Redis refuses before running it:
    ACL (EACCES), unknown command (ENOENT), arity (EINVAL). A command script mode refuses
    (ESPIPE) gets Redis's error reply saying why instead."""
    cdef RedisCallHandoff c
    c.run, c.argv, c.argc, c.reply, c.error = run, argv, argc, NULL, 0
    on_main_thread(script_call_step, &c.handoff)
    error[0] = c.error
    return c.reply


cdef RaiModel *model_as_caller(Run *run, RedisModuleString *name, ErrorValue *err) noexcept nogil:
    """A reference to the model stored at `name`, if the caller may read that key: looked up from
    the worker under Redis's lock (a read, which reaches no other client)."""
    cdef RedisModuleKey *key
    cdef RaiModel *m = NULL
    cdef RedisModuleCtx *ctx = RedisModule_GetThreadSafeContext(NULL)
    RedisModule_ThreadSafeContextLock(ctx)
    RedisModule_SelectDb(ctx, run.db)
    cdef RedisModuleUser *user = RedisModule_GetModuleUserFromUserName(run.user)
    if user == NULL or RedisModule_ACLCheckKeyPermissions(user, name, REDISMODULE_CMD_KEY_ACCESS) != REDISMODULE_OK:
        error_set(err, E_NOPERM_MODEL_KEY)
    else:
        key = open_value_key(ctx, name, RAI_ModelType, REDISMODULE_READ, E_MODEL_EMPTY, err)
        if key != NULL:
            m = model_incref(<RaiModel *>RedisModule_ModuleTypeGetValue(key))
            RedisModule_CloseKey(key)
    RedisModule_FreeString(NULL, name)
    if user != NULL:
        RedisModule_FreeModuleUser(user)
    RedisModule_ThreadSafeContextUnlock(ctx)
    RedisModule_FreeThreadSafeContext(ctx)
    return m


cdef void *hook_redis_call(const char *const *argv, const size_t *lens, int argc, char **error) noexcept nogil:
    cdef Run *run = current_script_run(error)
    cdef char text[256]
    cdef int k, failure = 0
    if run == NULL:
        return NULL
    cdef RedisModuleString **words = <RedisModuleString **>RedisModule_Alloc(argc * sizeof(RedisModuleString *))
    for k in range(argc):
        words[k] = RedisModule_CreateString(NULL, argv[k], lens[k])
    cdef RedisModuleCallReply *reply = call_as_caller(run, words, argc, &failure)
    RedisModule_Free(words)
    if reply == NULL:
        snprintf(text, sizeof(text), "%s%s", RAI_ERR_SCRIPT_REDIS_ERROR, strerror(failure))
        error[0] = strdup(text)
    return reply


cdef int hook_reply_type(void *reply) noexcept nogil:
    return RedisModule_CallReplyType(<RedisModuleCallReply *>reply)


cdef long long hook_reply_integer(void *reply) noexcept nogil:
    return RedisModule_CallReplyInteger(<RedisModuleCallReply *>reply)


cdef const char *hook_reply_string(void *reply, size_t *n) noexcept nogil:
    return RedisModule_CallReplyStringPtr(<RedisModuleCallReply *>reply, n)


cdef size_t hook_reply_length(void *reply) noexcept nogil:
    return RedisModule_CallReplyLength(<RedisModuleCallReply *>reply)


cdef void *hook_reply_element(void *reply, size_t index) noexcept nogil:
    return RedisModule_CallReplyArrayElement(<RedisModuleCallReply *>reply, index)


cdef void hook_reply_free(void *reply) noexcept nogil:
    RedisModule_FreeCallReply(<RedisModuleCallReply *>reply)


cdef const char *nested_run_error(Run *nested, size_t noutputs) noexcept nogil:
    """Why the nested run's outputs cannot go back to the script, or NULL."""
    cdef size_t k
    if nested.error != NULL:
        return nested.error
    for k in range(noutputs):
        if nested.outputs[k] == NULL or nested.outputs[k].dl.dtype.code == kDLString:
            return RAI_ERR_MODEL_EXECUTE_NOT_A_TENSOR
    return NULL


cdef int hook_model_execute(const char *key, size_t key_len, const void *const *inputs, size_t ninputs,
                            size_t noutputs, void ***outputs, char **error) noexcept nogil:
    """Synchronous, on this worker: no queue, no batching, no statistics (docs/BEHAVIOUR.md §9.7).
    The model runs as a run of its own (natively, or through its adapter). A script asking for
    more outputs than the model has is refused before anything is allocated for them."""
    cdef Run *run = current_script_run(error)
    cdef ErrorValue err
    cdef size_t i, k
    if run == NULL:
        return -1
    cdef RaiModel *m = model_as_caller(run, RedisModule_CreateString(NULL, key, key_len), &err)
    if m == NULL:
        error[0] = strdup(err.text)
        return -1
    if noutputs > m.noutputs:
        model_decref(m)
        error[0] = strdup(RAI_ERR_OUTPUT_COUNT_MISMATCH)
        return -1
    cdef Run *nested = model_run_new(m, ninputs, noutputs)
    model_decref(m)
    for i in range(ninputs):
        nested.inputs[i] = tensor_copy_of(<const DLTensor *>inputs[i], 0, -1, &err)
        if nested.inputs[i] == NULL:
            error[0] = strdup(err.text)
            run_free(nested)
            return -1
    model_run_execute(nested)
    cdef const char *failure = nested_run_error(nested, noutputs)
    if failure != NULL:
        error[0] = strdup(failure)
    else:
        outputs[0] = <void **>malloc((noutputs + 1) * sizeof(void *))
        for k in range(noutputs):
            outputs[0][k] = tensor_to_managed(nested.outputs[k])
    run_free(nested)
    return -1 if failure != NULL else 0


cdef RaiScriptHooks script_hooks_table
script_hooks_table.redis_error_prefix = RAI_ERR_SCRIPT_REDIS_ERROR
script_hooks_table.redis_call = hook_redis_call
script_hooks_table.reply_type = hook_reply_type
script_hooks_table.reply_integer = hook_reply_integer
script_hooks_table.reply_string = hook_reply_string
script_hooks_table.reply_length = hook_reply_length
script_hooks_table.reply_element = hook_reply_element
script_hooks_table.reply_free = hook_reply_free
script_hooks_table.model_execute = hook_model_execute
ADAPTER_HOST.script_hooks = PyCapsule_New(&script_hooks_table, RAI_SCRIPT_HOOKS_CAPSULE, NULL)
