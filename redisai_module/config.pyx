# Load-time arguments: `--loadmodule redisai.so KEY VAL KEY VAL ...` (docs/CONFIG.md §2).
# Parsed in C before anything else runs; the values are read by the rest of the module.
from libc.stdio cimport snprintf
from libc.string cimport strncasecmp, strrchr, strlen
from redisai_module.redis_api cimport *

cdef extern from "version.h":
    int REDISAI_MODULE_VERSION

ctypedef struct RaiConfig:
    char *backends_path           # Redis memory; default <module dir>/backends
    long long threads_per_queue
    long long intra_op_parallelism
    long long inter_op_parallelism
    long long model_chunk_size
    long long model_execution_timeout
    long long backend_memory_limit
    bint debug_command

cdef RaiConfig rai_config


cdef extern from "<dlfcn.h>" nogil:
    ctypedef struct Dl_info:
        const char *dli_fname
    int dladdr(const void *addr, Dl_info *info)


cdef void config_set_backends_path(const char *path, size_t n) noexcept nogil:
    if rai_config.backends_path != NULL:
        RedisModule_Free(rai_config.backends_path)
    rai_config.backends_path = copy_cstring(path, n)


cdef void config_set_default_backends_path() noexcept nogil:
    """<directory of redisai.so>/backends, as RedisAI's default."""
    cdef Dl_info info
    cdef char path[4096]
    cdef const char *slash
    if dladdr(<void *>config_set_defaults, &info) == 0 or info.dli_fname == NULL:
        config_set_backends_path("backends", 8)
        return
    slash = strrchr(info.dli_fname, b'/')
    if slash == NULL:
        config_set_backends_path("backends", 8)
        return
    snprintf(path, sizeof(path), "%.*s/backends", <int>(slash - info.dli_fname), info.dli_fname)
    config_set_backends_path(path, strlen(path))


cdef void config_set_defaults() noexcept nogil:
    config_set_default_backends_path()
    rai_config.threads_per_queue = 1
    rai_config.intra_op_parallelism = 0
    rai_config.inter_op_parallelism = 0
    rai_config.model_chunk_size = 535822336  # 511 MiB: RedisAI 1.2's default, as its clients' tests expect
    rai_config.model_execution_timeout = 5000
    rai_config.backend_memory_limit = 0
    rai_config.debug_command = False


cdef bint config_apply(RedisModuleCtx *ctx, RedisModuleString *key, RedisModuleString *val,
                       bint apply=True) noexcept nogil:
    """Check one pair and, if `apply`, take it (backends load now). False if it is invalid."""
    cdef long long n = 0
    cdef bint is_int = RedisModule_StringToLongLong(val, &n) == REDISMODULE_OK
    cdef const char *name = NULL
    cdef long long *slot = NULL
    cdef long long minimum = 1
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
    elif arg_is(key, "BACKENDSPATH", 12):
        return True  # applied first, before every other argument
    elif parse_backend(key) >= 0:
        return not apply or load_backend(ctx, parse_backend(key), val)
    elif arg_is(key, "PYTHON_VENV", 11):
        return True  # consumed by the C shim before the interpreter started
    elif arg_is(key, "DEBUG_COMMAND", 13):
        # Our extension: registers AI._DEBUG, an introspection command for the test suite.
        if arg_is(val, "yes", 3) or arg_is(val, "1", 1):
            rai_config.debug_command = rai_config.debug_command or apply
            return True
        return arg_is(val, "no", 2) or arg_is(val, "0", 1)
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


cdef public bint RAI_Config_DebugCommand() noexcept nogil:
    return rai_config.debug_command
