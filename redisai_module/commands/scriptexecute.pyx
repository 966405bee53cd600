# AI.SCRIPTEXECUTE <key> <function> [KEYS n k...] [INPUTS n t...] [ARGS n a...] [OUTPUTS n o...]
#     [TIMEOUT ms]        Checks in the order of docs/COMMANDS.md §6.5; executed like AI.MODELEXECUTE.
from libc.string cimport memset
from redisai_module.execution.run cimport Run
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *

ctypedef struct ScriptCall:
    int keys_at
    int nkeys
    int inputs_at
    int ninputs
    int args_at
    int nargs
    int outputs_at
    int noutputs
    long long timeout_ms


cdef int parse_counted_section(RedisModuleString **argv, int argc, int i, int count_error, int length_error,
                               int *at, int *count, ErrorValue *err) noexcept nogil:
    """INPUTS/ARGS/OUTPUTS <n> <item>...: 0 or negative counts mean an empty section (RedisAI's
    quirk). Returns the index after the section, or -1 with `err` set."""
    cdef long long n
    if i + 1 >= argc:
        return error_set(err, E_SCRIPT_ARGUMENTS)
    if RedisModule_StringToLongLong(argv[i + 1], &n) != REDISMODULE_OK:
        return error_set(err, count_error)
    if n > argc - (i + 2):
        return error_set(err, length_error)
    at[0] = i + 2
    count[0] = <int>n if n > 0 else 0
    return i + 2 + count[0]


cdef int parse_script_call(RedisModuleString **argv, int argc, ScriptCall *call, bint in_dag,
                           ErrorValue *err) noexcept nogil:
    """The sections after the function name; 0, or -1 with `err` set. Inside a DAG the sections
    may start with any of them."""
    cdef long long n
    cdef int i = 3
    cdef bint seen_keys = False, seen_inputs = False, seen_args = False, seen_outputs = False
    if not in_dag and (argc <= 3 or not (arg_is(argv[3], "KEYS", 4) or arg_is(argv[3], "INPUTS", 6))):
        return error_set(err, E_SCRIPT_KEYS_OR_INPUTS_FIRST)
    while i < argc:
        if arg_is(argv[i], "KEYS", 4):
            if seen_keys:
                return error_set(err, E_SCRIPT_REPEATED_KEYS)
            seen_keys = True
            if argc - i < 3:
                return error_set(err, E_SCRIPT_KEYS_MISSING)
            if RedisModule_StringToLongLong(argv[i + 1], &n) != REDISMODULE_OK or n <= 0:
                return error_set(err, E_SCRIPT_KEYS_COUNT)
            if n > argc - (i + 2):
                return error_set(err, E_SCRIPT_KEYS_LENGTH)
            call.keys_at, call.nkeys = i + 2, <int>n
            i += 2 + <int>n
        elif arg_is(argv[i], "INPUTS", 6):
            if seen_inputs:
                return error_set(err, E_SCRIPT_REPEATED_INPUTS)
            seen_inputs = True
            i = parse_counted_section(argv, argc, i, E_SCRIPT_INPUTS_COUNT, E_SCRIPT_INPUTS_LENGTH,
                                      &call.inputs_at, &call.ninputs, err)
        elif arg_is(argv[i], "ARGS", 4):
            if seen_args:
                return error_set(err, E_SCRIPT_REPEATED_ARGS)
            seen_args = True
            i = parse_counted_section(argv, argc, i, E_SCRIPT_ARGS_COUNT, E_SCRIPT_ARGS_LENGTH,
                                      &call.args_at, &call.nargs, err)
        elif arg_is(argv[i], "OUTPUTS", 7):
            if seen_outputs:
                return error_set(err, E_SCRIPT_REPEATED_OUTPUTS)
            seen_outputs = True
            i = parse_counted_section(argv, argc, i, E_SCRIPT_OUTPUTS_COUNT, E_SCRIPT_OUTPUTS_LENGTH,
                                      &call.outputs_at, &call.noutputs, err)
        elif arg_is(argv[i], "TIMEOUT", 7):
            if i + 1 >= argc:
                return error_set(err, E_SCRIPT_TIMEOUT_MISSING)
            if RedisModule_StringToLongLong(argv[i + 1], &call.timeout_ms) != REDISMODULE_OK or call.timeout_ms <= 0:
                return error_set(err, E_TIMEOUT_VALUE)
            if i + 2 < argc:
                return error_set(err, E_SCRIPT_AFTER_TIMEOUT)
            i += 2
        else:
            return error_set_token(err, E_SCRIPTEXECUTE_UNEXPECTED, argv[i], 160)
        if i < 0:
            return -1
    return 0


cdef int scan_script_keys(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, bint report) noexcept nogil:
    """§11: the script key, then KEYS/INPUTS/OUTPUTS sections while they parse; a section is only
    reported when a token follows it (RedisAI's off-by-one), TIMEOUT and ARGS stop the scan.
    Returns where the scan stopped: keys from there on are not reported."""
    cdef long long n
    cdef int i = 3, k
    if argc < 6:
        return 1
    if report:
        report_read_key(ctx, 1)
    while i + 1 < argc and (arg_is(argv[i], "KEYS", 4) or arg_is(argv[i], "INPUTS", 6)
                            or arg_is(argv[i], "OUTPUTS", 7)):
        if RedisModule_StringToLongLong(argv[i + 1], &n) != REDISMODULE_OK or n <= 0 or i + 2 + n >= argc:
            break
        for k in range(i + 2, i + 2 + <int>n):
            if not report:
                pass
            elif arg_is(argv[i], "KEYS", 4):
                report_script_key(ctx, k)
            elif arg_is(argv[i], "INPUTS", 6):
                report_read_key(ctx, k)
            else:
                report_written_key(ctx, k)
        i += 2 + <int>n
    return i


cdef bint section_permitted(RedisModuleCtx *ctx, RedisModuleString **argv, int at, int n, int unreported_from,
                            int flags, ErrorValue *err) noexcept nogil:
    cdef int k
    for k in range(max(at, unreported_from), at + n):
        if not key_permitted(ctx, argv[k], flags, err):
            return False
    return True


cdef bint unreported_keys_permitted(RedisModuleCtx *ctx, RedisModuleString **argv, int argc,
                                    ScriptCall *call, ErrorValue *err) noexcept nogil:
    """Redis checked the keys the scan reported; the ones after it (a last section, or
    sections after ARGS) are checked here, so that no key escapes ACL."""
    cdef int unreported_from = scan_script_keys(NULL, argv, argc, False)
    if unreported_from <= 1 and not key_permitted(ctx, argv[1], REDISMODULE_CMD_KEY_ACCESS, err):
        return False
    return (section_permitted(ctx, argv, call.keys_at, call.nkeys, unreported_from,
                              REDISMODULE_CMD_KEY_ACCESS | REDISMODULE_CMD_KEY_UPDATE, err)
            and section_permitted(ctx, argv, call.inputs_at, call.ninputs, unreported_from,
                                  REDISMODULE_CMD_KEY_ACCESS, err)
            and section_permitted(ctx, argv, call.outputs_at, call.noutputs, unreported_from,
                                  REDISMODULE_CMD_KEY_UPDATE, err))


cdef public int RAI_ScriptExecute_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if RedisModule_IsKeysPositionRequest(ctx):
        scan_script_keys(ctx, argv, argc, True)
        return REDISMODULE_OK
    cdef RaiScript *s = NULL
    cdef RedisModuleKey *key = open_blocking_run_target(ctx, argv, argc, 3, E_SCRIPTEXECUTE_ARITY,
                                                        True, <void **>&s)
    if key == NULL:
        return REDISMODULE_OK  # the error was replied
    cdef ScriptCall call
    cdef ErrorValue err
    memset(&call, 0, sizeof(ScriptCall))
    if (parse_script_call(argv, argc, &call, False, &err) < 0
            or not unreported_keys_permitted(ctx, argv, argc, &call, &err)):
        RedisModule_CloseKey(key)
        return reply_error_value(ctx, &err)
    cdef size_t n
    cdef const char *function = RedisModule_StringPtrLen(argv[2], &n)
    cdef Run *run = script_run_new(s, function, n, call.ninputs, call.noutputs)
    RedisModule_CloseKey(key)
    run.keys = copy_name_span(argv, call.keys_at, call.keys_at + call.nkeys, &run.nkeys)
    run.args = copy_name_span(argv, call.args_at, call.args_at + call.nargs, &run.nargs)
    return start_run(ctx, run, s.head.device, argv + call.inputs_at, argv + call.outputs_at, call.timeout_ms)
