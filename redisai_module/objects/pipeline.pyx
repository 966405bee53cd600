# Standing pipelines as values (docs/COMMANDS.md §7.6): the definition's syntax (no keyspace
# access: the command checks its DAG against the keyspace, RDB load only needs the parts), the
# schema fields XLOAD shares, and the registry the pump walks. A key's free callback may run in
# Redis's lazy-free thread, so it only marks the pipeline released; the pump frees it.
from libc.stdint cimport int64_t
from libc.string cimport memset
from redisai_module.objects.pipeline cimport RaiPipeline
from redisai_module.redis_api cimport *

cdef extern from *:
    """
    static inline void rai_flag_set(int *p) { __atomic_store_n(p, 1, __ATOMIC_RELEASE); }
    static inline int rai_flag_get(int *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
    """
    void rai_flag_set(int *p) nogil
    int rai_flag_get(int *p) nogil

cdef RaiPipeline *pipelines_head = NULL   # main thread only


cdef int parse_field_schema(RedisModuleString **argv, int argc, int i, DLDataType *dtype, int *ndim,
                            int64_t *shape, ErrorValue *err) noexcept nogil:
    """`<dtype> <ndims> <dim>...` at argv[i]; the index after it, or -1."""
    cdef size_t n
    cdef long long count, dim
    cdef const char *s
    cdef int k
    if i + 1 >= argc:
        return error_set(err, E_SCHEMA_LENGTH)
    s = RedisModule_StringPtrLen(argv[i], &n)
    if not dtype_parse(s, n, dtype):
        return error_set(err, E_DTYPE)
    if (RedisModule_StringToLongLong(argv[i + 1], &count) != REDISMODULE_OK or count < 1
            or count > TENSOR_MAX_NDIM):
        return error_set(err, E_SCHEMA_NDIMS)
    if i + 2 + count > argc:
        return error_set(err, E_SCHEMA_LENGTH)
    for k in range(<int>count):
        if RedisModule_StringToLongLong(argv[i + 2 + k], &dim) != REDISMODULE_OK or dim < 0:
            return error_set(err, E_SHAPE)
        shape[k] = dim
    ndim[0] = <int>count
    return i + 2 + <int>count


cdef bint is_op_start(RedisModuleString *arg) noexcept nogil:
    cdef size_t n
    cdef const char *s = RedisModule_StringPtrLen(arg, &n)
    return n == 2 and s[0] == b'|' and s[1] == b'>'


cdef bint same_string(RedisModuleString *a, RedisModuleString *b) noexcept nogil:
    return RedisModule_StringCompare(a, b) == 0


cdef bint keyword_is(RedisModuleString *arg, const char *word) noexcept nogil:
    cdef size_t n, k = 0
    cdef const char *s = RedisModule_StringPtrLen(arg, &n)
    while k < n and word[k] != 0 and (s[k] == word[k] or s[k] == word[k] + 32):
        k += 1
    return k == n and word[k] == 0


cdef int locate_schema(RaiPipeline *pl, int i, ErrorValue *err) noexcept nogil:
    """SCHEMA <n> (<field> <dtype> <ndims> <dim>...)... at argv[i]; the index after it, or -1."""
    cdef long long n
    cdef DLDataType dtype
    cdef int ndim
    cdef int64_t shape[TENSOR_MAX_NDIM]
    cdef size_t length
    cdef long long f
    if i + 1 >= pl.argc or RedisModule_StringToLongLong(pl.argv[i + 1], &n) != REDISMODULE_OK or n <= 0 or n > pl.argc:
        return error_set(err, E_PIPELINE_SCHEMA_COUNT)
    pl.schema_at = i + 2
    pl.nfields = <int>n
    i += 2
    for f in range(n):
        if i >= pl.argc or is_op_start(pl.argv[i]):
            return error_set(err, E_SCHEMA_LENGTH)
        i = parse_field_schema(pl.argv, pl.argc, i + 1, &dtype, &ndim, shape, err)
        if i < 0:
            return -1
        if not shape_length(ndim, shape, &length) or shape[0] == 0:
            return error_set(err, E_PIPELINE_SCHEMA_SHAPE)
    return i


cdef int locate_outputs(RaiPipeline *pl, int i, ErrorValue *err) noexcept nogil:
    """OUTPUT <stream> <n> <name>... at argv[i]; the index after it, or -1."""
    cdef long long n
    cdef int j, k
    if i + 2 >= pl.argc or RedisModule_StringToLongLong(pl.argv[i + 2], &n) != REDISMODULE_OK or n <= 0:
        return error_set(err, E_PIPELINE_OUTPUT_COUNT)
    if i + 3 + n > pl.argc:
        return error_set(err, E_PIPELINE_OUTPUT_COUNT)
    pl.output = i + 1
    pl.outputs_at = i + 3
    pl.noutputs = <int>n
    for j in range(pl.outputs_at, pl.outputs_at + pl.noutputs):
        if is_op_start(pl.argv[j]):
            return error_set(err, E_PIPELINE_OUTPUT_COUNT)
        for k in range(pl.outputs_at, j):
            if same_string(pl.argv[j], pl.argv[k]):
                return error_set(err, E_PIPELINE_OUTPUT_UNIQUE)
    return i + 3 + <int>n


cdef int pipeline_locate(RaiPipeline *pl, ErrorValue *err) noexcept nogil:
    """Find the parts of pl.argv (docs/COMMANDS.md §7.6 gives the syntax and the order of
    checks); 0, or -1 with `err` set."""
    cdef int i = 0
    pl.batch = 1
    pl.first_op = -1
    cdef bint seen_batch = False
    while i < pl.argc and pl.first_op < 0:
        if is_op_start(pl.argv[i]):
            pl.first_op = i
        elif keyword_is(pl.argv[i], "INPUT") and pl.input == 0 and i + 1 < pl.argc:
            pl.input = i + 1
            i += 2
        elif keyword_is(pl.argv[i], "GROUP") and pl.group == 0 and i + 1 < pl.argc:
            pl.group = i + 1
            i += 2
        elif keyword_is(pl.argv[i], "DEADLETTER") and pl.deadletter == 0 and i + 1 < pl.argc:
            pl.deadletter = i + 1
            i += 2
        elif keyword_is(pl.argv[i], "BATCH") and not seen_batch and i + 1 < pl.argc:
            seen_batch = True
            if RedisModule_StringToLongLong(pl.argv[i + 1], &pl.batch) != REDISMODULE_OK or pl.batch < 1 or pl.batch > 4096:
                return error_set(err, E_PIPELINE_BATCH)
            i += 2
        elif keyword_is(pl.argv[i], "SCHEMA") and pl.schema_at == 0:
            i = locate_schema(pl, i, err)
        elif keyword_is(pl.argv[i], "OUTPUT") and pl.output == 0:
            i = locate_outputs(pl, i, err)
        else:
            return error_set_token(err, E_PIPELINE_UNEXPECTED, pl.argv[i], 180)
        if i < 0:
            return -1
    if pl.input == 0 or pl.group == 0 or pl.schema_at == 0 or pl.output == 0 or pl.deadletter == 0:
        return error_set(err, E_PIPELINE_MISSING)
    if pl.first_op < 0 or pl.first_op + 1 >= pl.argc or is_op_start(pl.argv[pl.argc - 1]):
        return error_set(err, E_DAG_EMPTY)
    if same_string(pl.argv[pl.input], pl.argv[pl.output]) or same_string(pl.argv[pl.input], pl.argv[pl.deadletter]):
        return error_set(err, E_PIPELINE_LOOP)
    return 0


cdef RaiPipeline *pipeline_new(RedisModuleString **argv, int argc, RedisModuleString *user, RedisModuleString *key,
                               int db, ErrorValue *err) noexcept nogil:
    """A pipeline holding copies of argv, user and key; NULL with `err` set if argv is not a
    definition. Not registered yet."""
    cdef RaiPipeline *pl = <RaiPipeline *>RedisModule_Alloc(sizeof(RaiPipeline))
    cdef int k
    memset(pl, 0, sizeof(RaiPipeline))
    pl.argc = argc
    pl.argv = <RedisModuleString **>RedisModule_Alloc((argc + 1) * sizeof(RedisModuleString *))
    for k in range(argc):
        pl.argv[k] = RedisModule_CreateStringFromString(NULL, argv[k])
    pl.user = RedisModule_CreateStringFromString(NULL, user) if user != NULL else NULL
    pl.key = RedisModule_CreateStringFromString(NULL, key) if key != NULL else NULL
    pl.db = db
    if pipeline_locate(pl, err) < 0:
        pipeline_free(pl)
        return NULL
    return pl


cdef void pipeline_free(RaiPipeline *pl) noexcept nogil:
    cdef int k
    for k in range(pl.argc):
        RedisModule_FreeString(NULL, pl.argv[k])
    RedisModule_Free(pl.argv)
    if pl.user != NULL:
        RedisModule_FreeString(NULL, pl.user)
    if pl.key != NULL:
        RedisModule_FreeString(NULL, pl.key)
    RedisModule_Free(pl)


cdef void pipeline_register(RaiPipeline *pl) noexcept nogil:
    """Main thread: the pump runs it from now on, reading its pending entries first."""
    global pipelines_head
    pl.dirty = True
    pl.pending_first = True
    pl.since_ms = RedisModule_Milliseconds()
    pl.next = pipelines_head
    pipelines_head = pl


cdef void pipeline_key_released(RaiPipeline *pl) noexcept nogil:
    """Its key let go of it (any thread)."""
    rai_flag_set(&pl.released)


cdef bint pipeline_is_released(RaiPipeline *pl) noexcept nogil:
    return rai_flag_get(&pl.released) != 0


cdef RaiPipeline *pipelines_first() noexcept nogil:
    """Main thread: the registry, after freeing what was released and is not in flight."""
    global pipelines_head
    cdef RaiPipeline **link = &pipelines_head
    cdef RaiPipeline *pl
    while link[0] != NULL:
        pl = link[0]
        if pipeline_is_released(pl) and not pl.in_flight:
            link[0] = pl.next
            pipeline_free(pl)
        else:
            link = &pl.next
    return pipelines_head


cdef RaiPipeline *pipelines_peek() noexcept nogil:
    """Main thread: the registry as it is (a keyspace event may come from inside the pump)."""
    return pipelines_head


cdef size_t pipeline_memory(RaiPipeline *pl) noexcept nogil:
    cdef size_t total = RedisModule_MallocSize(pl) + RedisModule_MallocSize(pl.argv)
    cdef size_t n
    cdef int k
    for k in range(pl.argc):
        RedisModule_StringPtrLen(pl.argv[k], &n)
        total += n
    return total
