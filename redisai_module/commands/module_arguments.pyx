# Load-time arguments: `--loadmodule redisai.so KEY VAL KEY VAL ...` (docs/CONFIG.md §2), parsed
# in C before anything else runs into the settings config.pyx holds. A commands-room file: a
# backend argument loads the backend, as AI.CONFIG LOADBACKEND does.
from redisai_module.redis_api cimport *


cdef bint yes_no(RedisModuleString *val, bint *setting) noexcept nogil:
    """yes/no/1/0 (any case) into *setting when given; False if it is none of those."""
    cdef bint on = arg_is(val, "yes", 3) or arg_is(val, "1", 1)
    if not (on or arg_is(val, "no", 2) or arg_is(val, "0", 1)):
        return False
    if setting != NULL:
        setting[0] = on
    return True


cdef bint config_apply(RedisModuleCtx *ctx, RedisModuleString *key, RedisModuleString *val,
                       bint apply=True) noexcept nogil:
    """Check one pair and, if `apply`, take it (backends load now). False if it is invalid."""
    cdef long long n = 0
    cdef bint is_int = RedisModule_StringToLongLong(val, &n) == REDISMODULE_OK
    cdef const char *name = NULL
    cdef long long *slot = NULL
    cdef long long minimum = 1
    cdef bint on
    if arg_is(key, "THREADS_PER_QUEUE", 17):
        name, slot = "THREADS_PER_QUEUE", &rai_config.threads_per_queue
    elif arg_is(key, "INTRA_OP_PARALLELISM", 20):
        name, slot = "INTRA_OP_PARALLELISM", &rai_config.intra_op_parallelism
    elif arg_is(key, "INTER_OP_PARALLELISM", 20):
        name, slot = "INTER_OP_PARALLELISM", &rai_config.inter_op_parallelism
    elif arg_is(key, "MODEL_CHUNK_SIZE", 16):
        name, slot = "MODEL_CHUNK_SIZE", &rai_config.model_chunk_size
    elif arg_is(key, "MODEL_EXECUTION_TIMEOUT", 23):
        name, slot, minimum = "MODEL_EXECUTION_TIMEOUT", &rai_config.model_execution_timeout, 1000
    elif arg_is(key, "BACKEND_MEMORY_LIMIT", 20):
        name, slot = "BACKEND_MEMORY_LIMIT", &rai_config.backend_memory_limit
    elif arg_is(key, "ASYNC_DAG_RESULT_TTL", 20):
        name, slot = "ASYNC_DAG_RESULT_TTL", &rai_config.async_dag_result_ttl
    elif arg_is(key, "ASYNC_DAG_MAX_PENDING", 21):
        name, slot = "ASYNC_DAG_MAX_PENDING", &rai_config.async_dag_max_pending
    elif arg_is(key, "BACKENDSPATH", 12):
        return True  # applied first, before every other argument
    elif parse_backend(key) >= 0:
        return not apply or load_backend(ctx, parse_backend(key), val)
    elif arg_is(key, "PYTHON_VENV", 11):
        return True  # consumed by the C shim before the interpreter started
    elif arg_is(key, "ADMISSION_CONTROL", 17):
        return yes_no(val, &rai_config.admission_control if apply else NULL)
    elif arg_is(key, "DEBUG_COMMAND", 13):
        # Our extension: registers AI._DEBUG, an introspection command for the test suite.
        if not yes_no(val, &on):
            return False
        rai_config.debug_command = rai_config.debug_command or (on and apply)
        return True
    if slot == NULL or not is_int or n < minimum:
        return False
    if apply:
        slot[0] = n
    else:  # logged once, by the check that runs first (RAI_Config_Check), in the given order
        RedisModule_Log(ctx, "notice", "Setting %s parameter to: %lld", name, n)
    return True


cdef bint config_pairs_ok(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, bint apply) noexcept nogil:
    """Every pair in order; the first invalid one is logged and stops."""
    cdef size_t klen, vlen
    cdef int i
    for i in range(0, argc, 2):
        if not config_apply(ctx, argv[i], argv[i + 1], apply):
            RedisModule_Log(ctx, "warning", RAI_ERR_CONFIG_ARGUMENT_LOG,
                            RedisModule_StringPtrLen(argv[i], &klen),
                            RedisModule_StringPtrLen(argv[i + 1], &vlen))
            return False
    return True


cdef public int RAI_Config_Check(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    """Before the interpreter starts: refuse an odd count or an invalid setting while nothing is
    running yet, so that MODULE LOAD can be tried again. (A backend path is only checked when it
    loads, which needs Python.)"""
    if argc % 2 != 0:
        RedisModule_Log(ctx, "warning",
                        "Even number of arguments provided to module. Please provide arguments as KEY VAL pairs")
        return REDISMODULE_ERR
    return REDISMODULE_OK if config_pairs_ok(ctx, argv, argc, False) else REDISMODULE_ERR


cdef public int RAI_Config_Load(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    config_set_defaults()
    if argc % 2 != 0:
        RedisModule_Log(ctx, "warning",
                        "Even number of arguments provided to module. Please provide arguments as KEY VAL pairs")
        return REDISMODULE_ERR
    cdef int i
    cdef size_t klen, vlen
    cdef const char *path
    for i in range(0, argc, 2):
        if arg_is(argv[i], "BACKENDSPATH", 12):
            path = RedisModule_StringPtrLen(argv[i + 1], &vlen)
            config_set_backends_path(path, vlen)
    return REDISMODULE_OK if config_pairs_ok(ctx, argv, argc, True) else REDISMODULE_ERR
