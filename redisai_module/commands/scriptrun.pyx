# AI.SCRIPTRUN (deprecated): <key> <function> [TIMEOUT <ms>] INPUTS <input>... [$ <input>...]
#     OUTPUTS <output>...    Parsed token by token (docs/COMMANDS.md §6.6), executed as
# AI.SCRIPTEXECUTE without KEYS and ARGS; the `$` marker is validated and otherwise ignored.
from redisai_module.execution.run cimport Run
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *

ctypedef struct ScriptRunArgs:
    RedisModuleString **inputs     # pointers into argv (the `$` marker left out)
    int ninputs
    RedisModuleString **outputs
    int noutputs
    long long timeout_ms           # 0: none given


cdef enum ScriptRunSection:
    SCRIPTRUN_NONE
    SCRIPTRUN_INPUTS
    SCRIPTRUN_OUTPUTS


cdef void scriptrun_args_free(ScriptRunArgs *a) noexcept nogil:
    RedisModule_Free(a.inputs)
    RedisModule_Free(a.outputs)


cdef int parse_scriptrun(RedisModuleString **argv, int argc, ScriptRunArgs *a, ErrorValue *err) noexcept nogil:
    """The tokens after the function, left to right. 0, or -1 with `err` set; either way
    scriptrun_args_free(a) releases the lists."""
    cdef ScriptRunSection section = SCRIPTRUN_NONE
    cdef bint seen_timeout = False, seen_variadic = False
    cdef int i = 3
    a.inputs = <RedisModuleString **>RedisModule_Alloc(argc * sizeof(RedisModuleString *))
    a.outputs = <RedisModuleString **>RedisModule_Alloc(argc * sizeof(RedisModuleString *))
    a.ninputs = a.noutputs = 0
    a.timeout_ms = 0
    while i < argc:
        if arg_is(argv[i], "TIMEOUT", 7):
            if seen_timeout:
                return error_set(err, E_SCRIPTRUN_TIMEOUT_REPEATED)
            seen_timeout = True
            if (i + 1 >= argc or RedisModule_StringToLongLong(argv[i + 1], &a.timeout_ms) != REDISMODULE_OK
                    or a.timeout_ms <= 0):
                return error_set(err, E_TIMEOUT_VALUE)
            i += 1
        elif arg_is(argv[i], "INPUTS", 6):
            if section == SCRIPTRUN_OUTPUTS:
                return error_set(err, E_SCRIPTRUN_INPUTS_AFTER_OUTPUTS)
            if section == SCRIPTRUN_INPUTS:
                return error_set(err, E_SCRIPTRUN_INPUTS_REPEATED)
            section = SCRIPTRUN_INPUTS
        elif arg_is(argv[i], "OUTPUTS", 7):
            if section == SCRIPTRUN_OUTPUTS:
                return error_set(err, E_SCRIPTRUN_OUTPUTS_REPEATED)
            section = SCRIPTRUN_OUTPUTS
        elif arg_is(argv[i], "$", 1):
            if section != SCRIPTRUN_INPUTS:
                return error_set(err, E_SCRIPTRUN_VARIADIC_OUTSIDE)
            if seen_variadic:
                return error_set(err, E_SCRIPTRUN_VARIADIC_REPEATED)
            seen_variadic = True
        elif section == SCRIPTRUN_INPUTS:
            a.inputs[a.ninputs] = argv[i]
            a.ninputs += 1
        elif section == SCRIPTRUN_OUTPUTS:
            a.outputs[a.noutputs] = argv[i]
            a.noutputs += 1
        else:
            return error_set(err, E_SCRIPTRUN_UNRECOGNIZED)
        i += 1
    return 0


cdef public int RAI_ScriptRun_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if RedisModule_IsKeysPositionRequest(ctx):
        return report_listed_keys(ctx, argv, argc, 3, True)
    cdef RaiScript *s = NULL
    cdef RedisModuleKey *key = open_blocking_run_target(ctx, argv, argc, 3, E_SCRIPTRUN_ARITY,
                                                        True, <void **>&s)
    if key == NULL:
        return REDISMODULE_OK  # the error was replied
    cdef ScriptRunArgs a
    cdef ErrorValue err
    if parse_scriptrun(argv, argc, &a, &err) < 0:
        scriptrun_args_free(&a)
        RedisModule_CloseKey(key)
        return reply_error_value(ctx, &err)
    cdef size_t n
    cdef const char *function = RedisModule_StringPtrLen(argv[2], &n)
    cdef Run *run = script_run_new(s, function, n, a.ninputs, a.noutputs)
    RedisModule_CloseKey(key)
    start_run(ctx, run, s.head.device, a.inputs, a.outputs, a.timeout_ms)
    scriptrun_args_free(&a)
    return REDISMODULE_OK
