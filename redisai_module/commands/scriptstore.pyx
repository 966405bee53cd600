# AI.SCRIPTSTORE <key> <device> [TAG <tag>] ENTRY_POINTS <n> <fn>... SOURCE <script>
# AI.SCRIPTSET <key> <device> [TAG <tag>] SOURCE <script>        (deprecated, no entry points)
#     also in its 2019 form, with no SOURCE keyword: AI.SCRIPTSET <key> <device> [TAG <tag>] <script>
# Checks in the order of docs/COMMANDS.md §6.1-6.2; the source is compiled before the key's type is
# checked, as RedisAI does.
from libc.stdint cimport int64_t
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.redis_api cimport *


cdef RaiScript *script_with_device_and_tag(RedisModuleString **argv, int argc, int *i) noexcept nogil:
    """A new script with argv[2] as device and an optional TAG at argv[3]; *i: the next index."""
    cdef RaiScript *s = script_new()
    cdef size_t n
    cdef const char *text = RedisModule_StringPtrLen(argv[2], &n)
    runnable_set_device(&s.head, text, n)
    i[0] = parse_tag(argv, argc, 3, &s.head)
    return s


cdef RaiScript *script_parse_failed(RaiScript *s, int code, ErrorValue *err) noexcept nogil:
    script_decref(s)
    error_set(err, code)
    return NULL


cdef void script_set_source(RaiScript *s, RedisModuleString *arg) noexcept nogil:
    cdef size_t n
    cdef const char *text = RedisModule_StringPtrLen(arg, &n)
    s.source = copy_cstring(text, n)
    s.source_len = n


cdef RaiScript *script_from_store_args(RedisModuleString **argv, int argc, ErrorValue *err) noexcept nogil:
    cdef int i
    cdef RaiScript *s = script_with_device_and_tag(argv, argc, &i)
    cdef long long count
    cdef double d
    if i >= argc or not arg_is(argv[i], "ENTRY_POINTS", 12):
        return script_parse_failed(s, E_MISSING_ENTRY_POINTS, err)
    i += 1
    if i >= argc or not lenient_int(argv[i], &count):
        return script_parse_failed(s, E_ENTRY_POINTS_COUNT, err)
    i += 1
    if count < 0 or count > argc - i:  # a negative count reads as a huge one, as in RedisAI
        return script_parse_failed(s, E_MISSING_ENTRY_POINTS, err)
    s.entry_points = copy_name_span(argv, i, i + <int>count, &s.nentry_points)
    i += <int>count
    if i + 1 >= argc or not arg_is(argv[i], "SOURCE", 6):
        return script_parse_failed(s, E_MISSING_SOURCE, err)
    script_set_source(s, argv[i + 1])  # anything after the source is ignored
    return s


cdef public int RAI_ScriptStore_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc < 8:
        return RedisModule_WrongArity(ctx)
    cdef ErrorValue err
    cdef RaiScript *s = script_from_store_args(argv, argc, &err)
    return store_runnable(ctx, argv[1], <RaiRunnable *>s, &err)


cdef bint is_implicit_source_form(RedisModuleString **argv, int argc) noexcept nogil:
    """<key> <device> [TAG <tag>] <script>: arities RedisAI 1.2 refused, so nothing it accepted
    changes meaning."""
    if arg_is(argv[argc - 1], "SOURCE", 6):
        return False
    return argc == 4 or (argc == 6 and arg_is(argv[3], "TAG", 3))


cdef public int RAI_ScriptSet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    cdef bint implicit = argc >= 4 and is_implicit_source_form(argv, argc)
    if argc != 5 and argc != 7 and not implicit:
        return RedisModule_WrongArity(ctx)
    cdef int i
    cdef RaiScript *s = script_with_device_and_tag(argv, argc, &i)
    if implicit:
        script_set_source(s, argv[i])
        return store_runnable(ctx, argv[1], &s.head, NULL)
    if i + 1 >= argc or not arg_is(argv[i], "SOURCE", 6):
        script_decref(s)
        return RedisModule_ReplyWithError(ctx, RAI_ERR_MISSING_SOURCE)
    script_set_source(s, argv[i + 1])
    return store_runnable(ctx, argv[1], &s.head, NULL)
