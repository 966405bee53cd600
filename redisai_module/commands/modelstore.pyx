# AI.MODELSTORE <key> <backend> <device> [TAG <tag>] [BATCHSIZE <n> [MINBATCHSIZE <m>
#     [MINBATCHTIMEOUT <t>]]] [INPUTS <n> <name>... OUTPUTS <n> <name>...] BLOB <blob> [<chunk>...]
# Checks in the order of docs/COMMANDS.md §5.1; the model is loaded by its backend before the key's
# type is checked, as RedisAI does.
from libc.stdint cimport uint64_t
from libc.string cimport memcpy
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.redis_api cimport *


cdef bint parse_name_list(RedisModuleString **argv, int argc, int *i, char ***names, size_t *count,
                          int count_error, int names_error, ErrorValue *err) noexcept nogil:
    """<count> <name>... at argv[*i]; advances *i past the names."""
    cdef uint64_t n
    cdef size_t k, len
    cdef const char *s
    if i[0] >= argc or not lenient_uint(argv[i[0]], &n) or n == 0:
        error_set(err, count_error)
        return False
    i[0] += 1
    if <uint64_t>(argc - i[0]) < n:
        error_set(err, names_error)
        return False
    names[0] = new_name_list(n)
    count[0] = n
    for k in range(n):
        s = RedisModule_StringPtrLen(argv[i[0] + k], &len)
        names[0][k] = copy_cstring(s, len)
    i[0] += <int>n
    return True


cdef int parse_tag(RedisModuleString **argv, int argc, int i, RaiRunnable *h) noexcept nogil:
    """An optional `TAG <tag>` at argv[i] (default ""), of a model or a script; returns the index
    after it."""
    cdef size_t n
    cdef const char *s
    if i + 1 < argc and arg_is(argv[i], "TAG", 3):
        s = RedisModule_StringPtrLen(argv[i + 1], &n)
        runnable_set_tag(h, s, n)
        return i + 2
    runnable_set_tag(h, "", 0)
    return i


cdef RaiModel *model_from_store_args(RedisModuleString **argv, int argc, ErrorValue *err) noexcept nogil:
    cdef int backend = parse_backend(argv[2])
    if backend < 0:
        error_set(err, E_UNSUPPORTED_BACKEND)
        return NULL
    if not device_is_valid(argv[3]):
        error_set(err, E_INVALID_DEVICE)
        return NULL
    cdef RaiModel *m = model_new(backend)
    cdef size_t n
    cdef const char *s = RedisModule_StringPtrLen(argv[3], &n)
    runnable_set_device(&m.head, s, n)
    cdef int i = parse_tag(argv, argc, 4, &m.head)
    if i < argc and arg_is(argv[i], "BATCHSIZE", 9):
        if i + 1 >= argc or not lenient_uint(argv[i + 1], &m.batchsize):
            return model_parse_failed(m, E_BATCHSIZE, err)
        i += 2
    if i < argc and arg_is(argv[i], "MINBATCHSIZE", 12):
        if i + 1 >= argc or not lenient_uint(argv[i + 1], &m.minbatchsize):
            return model_parse_failed(m, E_MINBATCHSIZE, err)
        i += 2
    if m.minbatchsize > 0 and m.batchsize == 0:
        return model_parse_failed(m, E_MINBATCHSIZE_WITHOUT, err)
    if i < argc and arg_is(argv[i], "MINBATCHTIMEOUT", 15):
        if i + 1 >= argc or not lenient_uint(argv[i + 1], &m.minbatchtimeout):
            return model_parse_failed(m, E_MINBATCHTIMEOUT, err)
        i += 2
    if m.minbatchtimeout > 0 and m.minbatchsize == 0:
        return model_parse_failed(m, E_MINBATCHTIMEOUT_WITHOUT, err)
    if i >= argc:
        return model_parse_failed(m, E_MISSING_BLOB, err)
    if backend_of(backend).names_at_store:
        if not arg_is(argv[i], "INPUTS", 6):
            return model_parse_failed(m, E_TF_INPUTS, err)
        i += 1
        if not parse_name_list(argv, argc, &i, &m.inputs, &m.ninputs,
                               E_INPUT_COUNT, E_INPUT_NAMES, err):
            return model_parse_failed(m, err.code, err)
        if i >= argc or not arg_is(argv[i], "OUTPUTS", 7):
            return model_parse_failed(m, E_TF_OUTPUTS, err)
        i += 1
        if not parse_name_list(argv, argc, &i, &m.outputs, &m.noutputs,
                               E_OUTPUT_COUNT, E_OUTPUT_NAMES, err):
            return model_parse_failed(m, err.code, err)
    elif arg_is(argv[i], "INPUTS", 6):
        return model_parse_failed(m, E_INPUTS_NOT_FOR_BACKEND, err)
    if i >= argc or not arg_is(argv[i], "BLOB", 4):
        return model_parse_failed(m, E_EXPECTED_BLOB, err)
    i += 1
    if i >= argc:
        return model_parse_failed(m, E_MISSING_BLOB, err)
    model_set_blob_from_args(m, argv + i, argc - i)
    return m


cdef RaiModel *model_parse_failed(RaiModel *m, int code, ErrorValue *err) noexcept nogil:
    model_decref(m)
    error_set(err, code)
    return NULL


cdef void model_set_blob_from_args(RaiModel *m, RedisModuleString **chunks, int nchunks) noexcept nogil:
    """Every argument after BLOB, concatenated in order (chunked upload)."""
    cdef size_t total = 0, n, pos = 0
    cdef int k
    for k in range(nchunks):
        RedisModule_StringPtrLen(chunks[k], &n)
        total += n
    m.blob = <char *>RedisModule_Alloc(total if total else 1)
    m.blob_len = total
    cdef const char *s
    for k in range(nchunks):
        s = RedisModule_StringPtrLen(chunks[k], &n)
        memcpy(m.blob + pos, s, n)
        pos += n


cdef public int RAI_ModelStore_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc < 6:
        return RedisModule_WrongArity(ctx)
    cdef ErrorValue err
    cdef RaiModel *m = model_from_store_args(argv, argc, &err)
    return store_runnable(ctx, argv[1], <RaiRunnable *>m, &err)
