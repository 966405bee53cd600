# AI.MODELSET (deprecated): <key> <backend> <device> [TAG <tag>] [BATCHSIZE <n> [MINBATCHSIZE <m>
#     [MINBATCHTIMEOUT <t>]]] [INPUTS <name>... OUTPUTS <name>...] BLOB <blob> [<chunk>...]
# Its own checks and messages (docs/COMMANDS.md §5.2); storing is AI.MODELSTORE's. Also its 2019 form,
# with no BLOB keyword and the blob last (`redis-cli -x AI.MODELSET m TORCH CPU < m.pt`).
from libc.string cimport memcpy, strlen
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.redis_api cimport *


cdef bint is_modelset_keyword(RedisModuleString *arg) noexcept nogil:
    return (arg_is(arg, "INPUTS", 6) or arg_is(arg, "OUTPUTS", 7) or arg_is(arg, "TAG", 3)
            or arg_is(arg, "BATCHSIZE", 9) or arg_is(arg, "MINBATCHSIZE", 12)
            or arg_is(arg, "MINBATCHTIMEOUT", 15) or arg_is(arg, "BLOB", 4))


cdef RaiModel *model_from_set_args(RedisModuleString **argv, int argc, ErrorValue *err) noexcept nogil:
    cdef int backend = parse_backend(argv[2])
    if backend < 0:
        error_set(err, E_UNSUPPORTED_BACKEND)
        return NULL
    cdef size_t n
    cdef const char *s = RedisModule_StringPtrLen(argv[3], &n)
    if n > 10 or is_modelset_keyword(argv[3]):
        error_set(err, E_INVALID_DEVICE)
        return NULL
    cdef RaiModel *m = model_new(backend)
    runnable_set_device(&m.head, s, n)
    cdef int i = parse_tag(argv, argc, 4, &m.head)
    if i < argc and arg_is(argv[i], "BATCHSIZE", 9):
        if not backend_of(backend).batches:
            return model_parse_failed(m, E_TFLITE_BATCHING, err)
        if i + 1 >= argc or not lenient_uint(argv[i + 1], &m.batchsize):
            return model_parse_failed(m, E_BATCHSIZE, err)
        i += 2
    if i < argc and arg_is(argv[i], "MINBATCHSIZE", 12):
        if m.batchsize == 0:
            return model_parse_failed(m, E_MINBATCHSIZE_WITHOUT, err)
        if i + 1 >= argc or not lenient_uint(argv[i + 1], &m.minbatchsize):
            return model_parse_failed(m, E_MINBATCHSIZE, err)
        i += 2
    if i < argc and arg_is(argv[i], "MINBATCHTIMEOUT", 15):
        if m.batchsize == 0:
            return model_parse_failed(m, E_MINBATCHTIMEOUT_WITHOUT_BATCHSIZE, err)
        if m.minbatchsize == 0:
            return model_parse_failed(m, E_MINBATCHTIMEOUT_WITHOUT, err)
        if i + 1 >= argc or not lenient_uint(argv[i + 1], &m.minbatchtimeout):
            return model_parse_failed(m, E_MINBATCHTIMEOUT, err)
        i += 2
    if i >= argc:
        return model_parse_failed(m, E_MISSING_BLOB, err)
    cdef int blob_at = i
    while blob_at < argc and not arg_is(argv[blob_at], "BLOB", 4):
        blob_at += 1
    cdef int outputs_at
    if backend_of(backend).names_at_store:
        if blob_at == i:
            return model_parse_failed(m, E_TF_NO_INPUTS_OUTPUTS, err)
        if not arg_is(argv[i], "INPUTS", 6):
            return model_parse_failed(m, E_INPUTS_NOT_SPECIFIED, err)
        outputs_at = i + 1
        while outputs_at < blob_at and not arg_is(argv[outputs_at], "OUTPUTS", 7):
            outputs_at += 1
        if outputs_at == blob_at:
            return model_parse_failed(m, E_OUTPUTS_NOT_SPECIFIED, err)
        m.inputs = copy_name_span(argv, i + 1, outputs_at, &m.ninputs)
        m.outputs = copy_name_span(argv, outputs_at + 1, blob_at, &m.noutputs)
    if blob_at + 1 >= argc:
        return model_parse_failed(m, E_MISSING_BLOB, err)
    model_set_blob_from_args(m, argv + blob_at + 1, argc - blob_at - 1)
    return m


cdef bint has_blob_keyword(RedisModuleString **argv, int argc) noexcept nogil:
    cdef int i
    for i in range(4, argc):
        if arg_is(argv[i], "BLOB", 4):
            return True
    return False


cdef RaiModel *model_with_implicit_blob(RedisModuleString **argv, int argc) noexcept nogil:
    """The command read as if BLOB stood before its last argument; NULL if that does not parse
    either (the caller then keeps the first error)."""
    cdef ErrorValue err
    cdef RedisModuleString **with_keyword = <RedisModuleString **>RedisModule_Alloc((argc + 1) * sizeof(RedisModuleString *))
    cdef RedisModuleString *keyword = RedisModule_CreateString(NULL, "BLOB", 4)
    memcpy(with_keyword, argv, (argc - 1) * sizeof(RedisModuleString *))
    with_keyword[argc - 1] = keyword
    with_keyword[argc] = argv[argc - 1]
    cdef RaiModel *m = model_from_set_args(with_keyword, argc + 1, &err)
    RedisModule_FreeString(NULL, keyword)
    RedisModule_Free(with_keyword)
    return m


cdef public int RAI_ModelSet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc < 4:
        return RedisModule_WrongArity(ctx)
    cdef ErrorValue err
    cdef RaiModel *m = model_from_set_args(argv, argc, &err)
    # A strict superset of RedisAI 1.2: only what it refused for a missing blob is read again.
    if m == NULL and err.code == E_MISSING_BLOB and not has_blob_keyword(argv, argc):
        m = model_with_implicit_blob(argv, argc)
    return store_runnable(ctx, argv[1], <RaiRunnable *>m, &err)
