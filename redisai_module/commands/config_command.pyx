# AI.CONFIG LOADBACKEND <backend> <path> | BACKENDSPATH <path> | MODEL_CHUNK_SIZE <bytes>
#         | ASYNC_DAG_RESULT_TTL <ms> | ASYNC_DAG_MAX_PENDING <n> | ADMISSION_CONTROL <yes|no>
#         | GET <BACKENDSPATH|MODEL_CHUNK_SIZE|ASYNC_DAG_RESULT_TTL|ASYNC_DAG_MAX_PENDING|ADMISSION_CONTROL>
#                                                          (docs/COMMANDS.md §9; never replicated)
from libc.string cimport strlen
from redisai_module.redis_api cimport *


cdef int config_loadbackend(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc < 4:
        return RedisModule_WrongArity(ctx)
    cdef int backend = parse_backend(argv[2])
    if backend < 0:
        return RedisModule_ReplyWithError(ctx, RAI_ERR_UNSUPPORTED_BACKEND)
    if not load_backend(ctx, backend, argv[3]):
        return RedisModule_ReplyWithError(ctx, RAI_ERR_LOADING_BACKEND)
    return RedisModule_ReplyWithSimpleString(ctx, "OK")


cdef int config_get(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc < 3:
        return RedisModule_WrongArity(ctx)
    if arg_is(argv[2], "BACKENDSPATH", 12):
        return RedisModule_ReplyWithStringBuffer(ctx, rai_config.backends_path, strlen(rai_config.backends_path))
    if arg_is(argv[2], "MODEL_CHUNK_SIZE", 16):
        return RedisModule_ReplyWithLongLong(ctx, rai_config.model_chunk_size)
    cdef long long *setting = async_dag_setting(argv[2])
    if setting != NULL:
        return RedisModule_ReplyWithLongLong(ctx, setting[0])
    if arg_is(argv[2], "ADMISSION_CONTROL", 17):
        return RedisModule_ReplyWithCString(ctx, "yes" if rai_config.admission_control else "no")
    return RedisModule_ReplyWithNull(ctx)


cdef long long *async_dag_setting(RedisModuleString *name) noexcept nogil:
    if arg_is(name, "ASYNC_DAG_RESULT_TTL", 20):
        return &rai_config.async_dag_result_ttl
    if arg_is(name, "ASYNC_DAG_MAX_PENDING", 21):
        return &rai_config.async_dag_max_pending
    return NULL


cdef int config_set_positive(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, long long *setting) noexcept nogil:
    cdef ErrorValue err
    cdef long long value
    if argc < 3:
        return RedisModule_WrongArity(ctx)
    if RedisModule_StringToLongLong(argv[2], &value) != REDISMODULE_OK or value <= 0:
        error_set_token(&err, E_CONFIG_POSITIVE, argv[1], 64)
        return reply_error_value(ctx, &err)
    setting[0] = value
    return RedisModule_ReplyWithSimpleString(ctx, "OK")


cdef public int RAI_Config_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    cdef size_t n
    cdef const char *s
    cdef long long size
    if argc < 2:
        return RedisModule_WrongArity(ctx)
    if arg_is(argv[1], "LOADBACKEND", 11):
        return config_loadbackend(ctx, argv, argc)
    if arg_is(argv[1], "BACKENDSPATH", 12):
        if argc < 3:
            return RedisModule_ReplyWithError(ctx, RAI_ERR_BACKENDSPATH_MISSING)
        s = RedisModule_StringPtrLen(argv[2], &n)
        config_set_backends_path(s, n)
        return RedisModule_ReplyWithSimpleString(ctx, "OK")
    if arg_is(argv[1], "MODEL_CHUNK_SIZE", 16):
        if argc < 3:
            return RedisModule_ReplyWithError(ctx, RAI_ERR_CHUNK_SIZE_MISSING)
        if RedisModule_StringToLongLong(argv[2], &size) != REDISMODULE_OK or size <= 0:
            return RedisModule_ReplyWithError(ctx, RAI_ERR_CHUNK_SIZE_INVALID)
        rai_config.model_chunk_size = size
        return RedisModule_ReplyWithSimpleString(ctx, "OK")
    if arg_is(argv[1], "GET", 3):
        return config_get(ctx, argv, argc)
    if async_dag_setting(argv[1]) != NULL:
        return config_set_positive(ctx, argv, argc, async_dag_setting(argv[1]))
    if arg_is(argv[1], "ADMISSION_CONTROL", 17):
        if argc < 3:
            return RedisModule_WrongArity(ctx)
        if not yes_no(argv[2], &rai_config.admission_control):
            return RedisModule_ReplyWithError(ctx, RAI_ERR_CONFIG_YES_NO)
        return RedisModule_ReplyWithSimpleString(ctx, "OK")
    return RedisModule_ReplyWithError(ctx, RAI_ERR_UNSUPPORTED_SUBCOMMAND)
