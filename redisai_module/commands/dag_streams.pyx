# Streams in and out of a DAG (docs/COMMANDS.md §7.5). XLOAD reads one entry of a Redis Stream
# while parsing, each named field's raw bytes becoming a tensor typed by the command's schema and
# bound to the field's name; XPERSIST appends the named tensors' raw bytes as one new entry when
# the DAG succeeds, through XADD itself so replicas, the AOF, keyspace events and blocked
# XREAD clients see an ordinary XADD.
from libc.stdint cimport int64_t
from redisai_module.execution.run cimport *
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

ctypedef struct StreamEntry:
    int nfields
    RedisModuleString **names
    RedisModuleString **values


cdef int read_stream_entry(RedisModuleCtx *ctx, RedisModuleString *name, RedisModuleString *id_arg,
                           StreamEntry *entry, ErrorValue *err) noexcept nogil:
    """The entry `id_arg` (`+`: the newest) of the stream `name`, its strings the caller's to
    free (free_stream_entry). 0, or -1 with `err` set."""
    cdef RedisModuleStreamID id
    cdef RedisModuleStreamID found
    cdef long numfields
    cdef bint newest = arg_is(id_arg, "+", 1)
    if not newest and RedisModule_StringToStreamID(id_arg, &id) != REDISMODULE_OK:
        return error_set(err, E_DAG_XLOAD_ID)
    cdef RedisModuleKey *key = <RedisModuleKey *>RedisModule_OpenKey(ctx, name, REDISMODULE_READ)
    cdef int keytype = RedisModule_KeyType(key)
    if keytype != REDISMODULE_KEYTYPE_STREAM:
        RedisModule_CloseKey(key)
        return error_set(err, E_DAG_XLOAD_NO_ENTRY if keytype == REDISMODULE_KEYTYPE_EMPTY else E_WRONGTYPE)
    if newest:
        RedisModule_StreamIteratorStart(key, REDISMODULE_STREAM_ITERATOR_REVERSE, NULL, NULL)
    else:
        RedisModule_StreamIteratorStart(key, 0, &id, &id)
    if RedisModule_StreamIteratorNextID(key, &found, &numfields) != REDISMODULE_OK:
        RedisModule_StreamIteratorStop(key)
        RedisModule_CloseKey(key)
        return error_set(err, E_DAG_XLOAD_NO_ENTRY)
    entry.nfields = 0
    entry.names = <RedisModuleString **>RedisModule_Alloc((numfields + 1) * sizeof(RedisModuleString *))
    entry.values = <RedisModuleString **>RedisModule_Alloc((numfields + 1) * sizeof(RedisModuleString *))
    while (entry.nfields < numfields and RedisModule_StreamIteratorNextField(
            key, &entry.names[entry.nfields], &entry.values[entry.nfields]) == REDISMODULE_OK):
        entry.nfields += 1
    RedisModule_StreamIteratorStop(key)
    RedisModule_CloseKey(key)
    return 0


cdef void free_stream_entry(StreamEntry *entry) noexcept nogil:
    cdef int k
    for k in range(entry.nfields):
        RedisModule_FreeString(NULL, entry.names[k])
        RedisModule_FreeString(NULL, entry.values[k])
    RedisModule_Free(entry.names)
    RedisModule_Free(entry.values)


cdef RedisModuleString *entry_value(StreamEntry *entry, RedisModuleString *field) noexcept nogil:
    """The value of `field` (the first, if the entry repeats it); NULL if absent."""
    cdef int k
    for k in range(entry.nfields):
        if RedisModule_StringCompare(entry.names[k], field) == 0:
            return entry.values[k]
    return NULL


cdef int bind_entry_fields(RedisModuleString **argv, int argc, int i, long long nfields, StreamEntry *entry,
                           DagParse *p) noexcept nogil:
    """The schema's fields, from argv[i] on: each becomes a DAG tensor named as its field."""
    cdef DLDataType dtype
    cdef int ndim
    cdef int64_t shape[TENSOR_MAX_NDIM]
    cdef size_t length, slot
    cdef RedisModuleString *field
    cdef RedisModuleString *value
    cdef RaiTensor *t
    cdef long long f
    for f in range(nfields):
        if i >= argc or arg_is(argv[i], "|>", 2):
            return error_set(&p.error, E_SCHEMA_LENGTH)
        field = argv[i]
        i = parse_field_schema(argv, argc, i + 1, &dtype, &ndim, shape, &p.error)
        if i < 0:
            return -1
        if not shape_length(ndim, shape, &length):
            return error_set(&p.error, E_TOO_LARGE)
        value = entry_value(entry, field)
        if value == NULL:
            return error_set_token(&p.error, E_DAG_XLOAD_NO_FIELD, field, 180)
        t = tensor_from_blob(dtype, ndim, shape, length, value, &p.error)
        if t == NULL:
            return -1
        slot = new_slot(p)
        p.dag.slots[slot] = t
        dag_name_bind(&p.names, field, slot)
    return i


cdef bint header_args_present(RedisModuleString **argv, int argc, int i, int n) noexcept nogil:
    """The `n` tokens after the keyword at argv[i] are there, and none starts an op."""
    cdef int k
    for k in range(i + 1, i + 1 + n):
        if k >= argc or arg_is(argv[k], "|>", 2):
            return False
    return True


cdef int parse_dag_xload(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int i, DagParse *p) noexcept nogil:
    """XLOAD <stream> <id|+> <n> (<field> <dtype> <ndims> <dim>...)...: the entry is read now.
    Returns the index after the schema, or -1."""
    cdef long long nfields
    cdef StreamEntry entry
    if not header_args_present(argv, argc, i, 4):
        return error_set(&p.error, E_DAG_XLOAD_MISSING)
    if RedisModule_StringToLongLong(argv[i + 3], &nfields) != REDISMODULE_OK or nfields <= 0 or nfields > argc:
        return error_set(&p.error, E_DAG_XLOAD_COUNT)
    if read_stream_entry(ctx, argv[i + 1], argv[i + 2], &entry, &p.error) < 0:
        return -1
    i = bind_entry_fields(argv, argc, i + 4, nfields, &entry, p)
    free_stream_entry(&entry)
    return i


cdef bint names_unique(RedisModuleString **names, int n, int argc) noexcept nogil:
    cdef DagNames seen
    cdef size_t ignored
    cdef bint unique = True
    cdef int k
    dag_names_init(&seen, argc)
    for k in range(n):
        if dag_name_lookup(&seen, names[k], &ignored):
            unique = False
            break
        dag_name_bind(&seen, names[k], 0)
    dag_names_free(&seen)
    return unique


cdef int parse_dag_xpersist(RedisModuleString **argv, int argc, int i, DagParse *p) noexcept nogil:
    """XPERSIST <stream> <n> <name>...: tensors appended as one entry when the DAG succeeds,
    resolved after the ops."""
    cdef long long n
    if p.read_only:
        return error_set(&p.error, E_DAG_XPERSIST_READ_ONLY)
    if not header_args_present(argv, argc, i, 3):
        return error_set(&p.error, E_DAG_XPERSIST_MISSING)
    if RedisModule_StringToLongLong(argv[i + 2], &n) != REDISMODULE_OK or n <= 0:
        return error_set(&p.error, E_DAG_XPERSIST_COUNT)
    if i + 3 + n > argc:
        return error_set(&p.error, E_DAG_XPERSIST_LENGTH)
    if not names_unique(argv + i + 3, <int>n, argc):
        return error_set(&p.error, E_DAG_XPERSIST_UNIQUE)
    p.xpersist_stream = argv[i + 1]
    p.xpersist_names = argv + i + 3
    p.nxpersist = <int>n
    return i + 3 + <int>n


cdef int resolve_xpersist(DagParse *p) noexcept nogil:
    """The final version of each XPERSIST name; 0, or -1."""
    cdef Dag *dag = p.dag
    cdef int j
    if p.xpersist_stream == NULL:
        return 0
    dag.xpersist_fields = <RedisModuleString **>RedisModule_Alloc(p.nxpersist * sizeof(RedisModuleString *))
    dag.xpersist_slots = <size_t *>RedisModule_Alloc(p.nxpersist * sizeof(size_t))
    for j in range(p.nxpersist):
        if not dag_name_lookup(&p.names, p.xpersist_names[j], &dag.xpersist_slots[j]):
            return error_set(&p.error, E_DAG_XPERSIST_NOT_FOUND)
        dag.xpersist_fields[j] = RedisModule_HoldString(NULL, p.xpersist_names[j])
        dag.nxpersist += 1
    dag.xpersist_stream = RedisModule_HoldString(NULL, p.xpersist_stream)
    return 0


cdef bint append_dag_entry(RedisModuleCtx *ctx, Dag *dag, ErrorValue *err) noexcept nogil:
    """XADD <stream> * <name> <raw bytes>... for the XPERSIST tensors (a name whose final version
    is not a tensor is left out, as PERSIST skips it); False with `err` set if the key holds
    another type or XADD refuses."""
    cdef RedisModuleKey *key
    cdef RedisModuleCallReply *reply
    cdef RedisModuleString **fields
    cdef RaiTensor *t
    cdef size_t k, n = 0, length
    cdef const char *text
    cdef bint ok = True
    if dag.xpersist_stream == NULL:
        return True
    key = <RedisModuleKey *>RedisModule_OpenKey(ctx, dag.xpersist_stream, REDISMODULE_READ)
    cdef int keytype = RedisModule_KeyType(key)
    if keytype != REDISMODULE_KEYTYPE_EMPTY and keytype != REDISMODULE_KEYTYPE_STREAM:
        RedisModule_CloseKey(key)
        error_set(err, E_WRONGTYPE)
        return False
    RedisModule_CloseKey(key)
    fields = <RedisModuleString **>RedisModule_Alloc((2 * dag.nxpersist + 1) * sizeof(RedisModuleString *))
    for k in range(dag.nxpersist):
        t = dag.slots[dag.xpersist_slots[k]]
        if t != NULL:
            fields[n] = dag.xpersist_fields[k]
            fields[n + 1] = RedisModule_CreateString(NULL, <const char *>t.dl.data, t.nbytes)
            n += 2
    if n > 0:
        reply = RedisModule_Call(ctx, "XADD", "!scv", dag.xpersist_stream, "*", fields, n)
        if reply == NULL or RedisModule_CallReplyType(reply) == REDISMODULE_REPLY_ERROR:
            ok = False
            length = 0
            text = RedisModule_CallReplyStringPtr(reply, &length) if reply != NULL else NULL
            if text == NULL:
                text, length = b"XADD failed", 11
            error_set_text(err, E_DAG_XPERSIST_REFUSED, text, length)
        if reply != NULL:
            RedisModule_FreeCallReply(reply)
    for k in range(1, n, 2):
        RedisModule_FreeString(NULL, fields[k])
    RedisModule_Free(fields)
    return ok
