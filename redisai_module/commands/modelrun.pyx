# AI.MODELRUN (deprecated): <key> [TIMEOUT <ms>] INPUTS <input>... OUTPUTS <output>...
# Parsed by its own rules (docs/COMMANDS.md §5.6), executed exactly as AI.MODELEXECUTE.
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *


ctypedef struct ModelRunArgs:
    int first_input
    int ninputs
    int first_output
    int noutputs
    long long timeout_ms


cdef int parse_modelrun(RedisModuleString **argv, int argc, RaiModel *m, ModelRunArgs *a,
                        ErrorValue *err) noexcept nogil:
    """Checks 3-7 of §5.6 (argv[1] is the model); 0, or -1 with `err` set (the first failed check)."""
    cdef int code = E_NONE
    cdef int i = 2
    a.timeout_ms = 0
    if arg_is(argv[2], "TIMEOUT", 7):
        if RedisModule_StringToLongLong(argv[3], &a.timeout_ms) != REDISMODULE_OK or a.timeout_ms <= 0:
            code = E_TIMEOUT_VALUE
        i = 4
    if code == E_NONE and (i >= argc or not arg_is(argv[i], "INPUTS", 6)):
        code = E_INPUTS_NOT_SPECIFIED
    a.first_input = i + 1
    i = a.first_input
    while i < argc and not arg_is(argv[i], "OUTPUTS", 7):
        i += 1
    a.ninputs = i - a.first_input
    a.first_output = i + 1 if i < argc else argc
    a.noutputs = argc - a.first_output
    if code == E_NONE and <size_t>a.ninputs != m.ninputs:
        code = E_INPUTS_MODEL_MISMATCH
    if code == E_NONE and <size_t>a.noutputs != m.noutputs:
        code = E_OUTPUTS_MODEL_MISMATCH
    if code != E_NONE:
        return error_set(err, code)
    return 0


cdef public int RAI_ModelRun_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if RedisModule_IsKeysPositionRequest(ctx):
        return report_listed_keys(ctx, argv, argc, 2, False)
    cdef RaiModel *m = NULL
    cdef RedisModuleKey *model_key = open_blocking_run_target(ctx, argv, argc, 6, E_MODELRUN_ARITY,
                                                              False, <void **>&m)
    if model_key == NULL:
        return REDISMODULE_OK  # the error was replied
    cdef ModelRunArgs a
    cdef ErrorValue err
    if parse_modelrun(argv, argc, m, &a, &err) < 0:
        RedisModule_CloseKey(model_key)
        return reply_error_value(ctx, &err)
    return start_model_run(ctx, model_key, m, argv + a.first_input, a.ninputs, argv + a.first_output,
                           a.noutputs, a.timeout_ms)
