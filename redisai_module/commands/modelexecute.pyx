# AI.MODELEXECUTE <key> INPUTS <n> <input>... OUTPUTS <n> <output>... [TIMEOUT <ms>]
# Parsed and validated on the main thread (docs/COMMANDS.md §5.5, in order), then queued on the
# model's device with the client blocked; the reply callback writes the outputs.
from libc.stdint cimport int64_t
from redisai_module.execution.run cimport Run
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.run_stats cimport RunStats
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef int parse_run_counts(RedisModuleString **argv, int argc, RaiModel *m, long long *timeout_ms,
                          ErrorValue *err) noexcept nogil:
    """Checks 3-17 of §5.5; the input count, or -1 with `err` set."""
    cdef long long nin, nout
    if not arg_is(argv[2], "INPUTS", 6):
        return error_set(err, E_INPUTS_NOT_SPECIFIED)
    if RedisModule_StringToLongLong(argv[3], &nin) != REDISMODULE_OK:
        return error_set(err, E_INPUT_COUNT)
    if nin <= 0:
        return error_set(err, E_INPUT_COUNT_POSITIVE)
    if <size_t>nin != m.ninputs:
        return error_set(err, E_INPUTS_MODEL_MISMATCH)
    cdef int i = 4
    if argc - i < nin:
        return error_set(err, E_INPUT_KEYS)
    i += <int>nin
    if i >= argc or not arg_is(argv[i], "OUTPUTS", 7):
        return error_set(err, E_OUTPUTS_NOT_SPECIFIED)
    i += 1
    if i >= argc or RedisModule_StringToLongLong(argv[i], &nout) != REDISMODULE_OK:
        return error_set(err, E_OUTPUT_COUNT)
    if nout <= 0:
        return error_set(err, E_OUTPUT_COUNT_POSITIVE)
    if <size_t>nout != m.noutputs:
        return error_set(err, E_OUTPUTS_MODEL_MISMATCH)
    i += 1
    if argc - i < nout:
        return error_set(err, E_OUTPUT_KEYS)
    i += <int>nout
    timeout_ms[0] = 0
    if i < argc:
        if not arg_is(argv[i], "TIMEOUT", 7):
            return error_set_token(err, E_INVALID_ARGUMENT, argv[i], 200)
        if i + 1 >= argc:
            return error_set(err, E_TIMEOUT_MISSING)
        if RedisModule_StringToLongLong(argv[i + 1], timeout_ms) != REDISMODULE_OK or timeout_ms[0] <= 0:
            return error_set(err, E_TIMEOUT_VALUE)
        if i + 2 < argc:
            return error_set_token(err, E_INVALID_ARGUMENT, argv[i + 2], 200)
    return <int>nin


cdef int report_keys(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    """Keys for cluster routing and ACL checks (docs/COMMANDS.md §11): the model, the inputs, the
    outputs; reporting stops where the counts stop making sense, as RedisAI's does."""
    cdef long long nin, nout
    cdef int k
    if argc < 4:
        return REDISMODULE_OK
    report_read_key(ctx, 1)
    if RedisModule_StringToLongLong(argv[3], &nin) != REDISMODULE_OK or nin < 0 or 3 + nin + 2 >= argc:
        return REDISMODULE_OK
    if (RedisModule_StringToLongLong(argv[3 + nin + 2], &nout) != REDISMODULE_OK or nout < 0
            or argc <= 3 + nin + 2 + nout):
        return REDISMODULE_OK
    for k in range(4, 4 + <int>nin):
        report_read_key(ctx, k)
    for k in range(4 + <int>nin + 2, 4 + <int>nin + 2 + <int>nout):
        report_written_key(ctx, k)
    return REDISMODULE_OK


cdef public int RAI_ModelExecute_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if RedisModule_IsKeysPositionRequest(ctx):
        return report_keys(ctx, argv, argc)
    cdef RaiModel *m = NULL
    cdef RedisModuleKey *model_key = open_blocking_run_target(ctx, argv, argc, 8, E_MODELEXECUTE_ARITY,
                                                              False, <void **>&m)
    if model_key == NULL:
        return REDISMODULE_OK  # the error was replied
    cdef long long timeout_ms
    cdef ErrorValue err
    cdef int nin = parse_run_counts(argv, argc, m, &timeout_ms, &err)
    if nin < 0:
        RedisModule_CloseKey(model_key)
        return reply_error_value(ctx, &err)
    return start_model_run(ctx, model_key, m, argv + 4, nin, argv + 4 + nin + 2, <int>m.noutputs, timeout_ms)


cdef int start_model_run(RedisModuleCtx *ctx, RedisModuleKey *model_key, RaiModel *m,
                         RedisModuleString **inputs, int nin, RedisModuleString **outputs, int nout,
                         long long timeout_ms) noexcept nogil:
    """Capture the model by reference and queue the run (closes model_key). Shared by
    AI.MODELEXECUTE and AI.MODELRUN."""
    cdef Run *run = model_run_new(m, nin, nout)
    RedisModule_CloseKey(model_key)
    return start_run(ctx, run, m.head.device, inputs, outputs, timeout_ms)
