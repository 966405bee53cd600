# AI.MODELRUN (deprecated): <key> [TIMEOUT <ms>] INPUTS <input>... OUTPUTS <output>...
# Parsed by its own rules (COMMANDS.md §5.6), executed exactly as AI.MODELEXECUTE.
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *


cdef int report_modelrun_keys(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    """argv[1]; then every token after INPUTS except the literal OUTPUTS (§11)."""
    cdef int i = 2
    if argc < 2:
        return REDISMODULE_OK
    RedisModule_KeyAtPos(ctx, 1)
    if i < argc and arg_is(argv[i], "TIMEOUT", 7):
        i += 2
    i += 1  # INPUTS
    while i < argc:
        if not arg_is(argv[i], "OUTPUTS", 7):
            RedisModule_KeyAtPos(ctx, i)
        i += 1
    return REDISMODULE_OK


cdef public int RAI_ModelRun_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if RedisModule_IsKeysPositionRequest(ctx):
        return report_modelrun_keys(ctx, argv, argc)
    cdef RaiModel *m = NULL
    cdef RedisModuleKey *model_key = open_model_to_run(ctx, argv, argc, 6, RAI_ERR_MODELRUN_ARITY, &m)
    if model_key == NULL:
        return REDISMODULE_OK  # the error was replied
    cdef const char *err = NULL
    cdef long long timeout_ms = 0
    cdef int i = 2
    if arg_is(argv[2], "TIMEOUT", 7):
        if RedisModule_StringToLongLong(argv[3], &timeout_ms) != REDISMODULE_OK or timeout_ms <= 0:
            err = RAI_ERR_TIMEOUT_VALUE
        i = 4
    if err == NULL and (i >= argc or not arg_is(argv[i], "INPUTS", 6)):
        err = RAI_ERR_INPUTS_NOT_SPECIFIED
    cdef int first_input = i + 1
    i = first_input
    while i < argc and not arg_is(argv[i], "OUTPUTS", 7):
        i += 1
    cdef int nin = i - first_input
    cdef int first_output = i + 1 if i < argc else argc
    cdef int nout = argc - first_output
    if err == NULL and <size_t>nin != m.ninputs:
        err = RAI_ERR_INPUTS_MODEL_MISMATCH
    if err == NULL and <size_t>nout != m.noutputs:
        err = RAI_ERR_OUTPUTS_MODEL_MISMATCH
    if err != NULL:
        RedisModule_CloseKey(model_key)
        return RedisModule_ReplyWithError(ctx, err)
    return start_model_run(ctx, model_key, m, argv + first_input, nin, argv + first_output, nout, timeout_ms)
