# The pump of standing pipelines (docs/COMMANDS.md §7.6), on the main thread: an XADD (any
# stream event) on an input stream marks its pipeline dirty; just before Redis sleeps, each dirty
# pipeline with nothing in flight reads up to BATCH entries with XREADGROUP as the consumer
# `redisai`, turns them into one DAG (each schema field concatenated along the first dimension)
# and queues it. When it ends, each entry gets one output entry (the outputs split along the
# first dimension), then XACK. A batch that fails is re-run one entry at a time from the
# consumer's pending list, and an entry that fails alone goes to the dead-letter stream with its
# error, then XACK. Every write goes through RedisModule_Call with `!`, so replicas and the AOF
# see XREADGROUP's claims, the XADDs and the XACKs: a new master re-reads what is pending.
# Masters only, never while clients are paused or while loading.
from libc.stdint cimport int64_t
from libc.string cimport memcmp, memcpy, strlen
from redisai_module.dlpack cimport kDLString
from redisai_module.execution.run cimport *
from redisai_module.objects.pipeline cimport RaiPipeline
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

cdef const char *PIPELINE_CONSUMER = b"redisai"
cdef enum:
    READS_PER_SLEEP = 64   # XREADGROUP calls per before-sleep, so a backlog cannot stall Redis

ctypedef struct PipelineBatch:
    RaiPipeline *pl
    Dag *dag
    int n
    RedisModuleString **ids
    size_t *output_slots


cdef int build_pipeline_dag(RedisModuleCtx *ctx, RaiPipeline *pl, RaiTensor **inputs, DagParse *p,
                            size_t *output_slots) noexcept nogil:
    """The pipeline's DAG over `inputs` (one per schema field; their references move to the DAG
    and the array is cleared), in p, initialised here. 0, or -1 with p.error set: the caller
    frees p.dag and p either way, and whatever is left in `inputs`."""
    cdef int i = pl.schema_at, end, f
    cdef long long ndims
    cdef size_t slot
    dag_parse_init(p, pl.argc + 1, False, False)
    for f in range(pl.nfields):
        slot = new_slot(p)
        p.dag.slots[slot] = inputs[f]
        inputs[f] = NULL
        dag_name_bind(&p.names, pl.argv[i], slot)
        RedisModule_StringToLongLong(pl.argv[i + 2], &ndims)
        i += 3 + <int>ndims
    i = pl.first_op
    while i < pl.argc:
        end = i + 1
        while end < pl.argc and not arg_is(pl.argv[end], "|>", 2):
            end += 1
        if parse_dag_op(ctx, pl.argv + i + 1, end - i - 1, p) < 0:
            return -1
        i = end
    if resolve_dag_names(p) < 0:
        return -1
    for f in range(pl.noutputs):
        if not dag_name_lookup(&p.names, pl.argv[pl.outputs_at + f], &output_slots[f]):
            return error_set(&p.error, E_PIPELINE_OUTPUT_NOT_FOUND)
    return 0


cdef int check_pipeline_dag(RedisModuleCtx *ctx, RaiPipeline *pl, ErrorValue *err) noexcept nogil:
    """AI.PIPELINECREATE's check: the DAG parses over zero tensors of one entry's schema (its
    models and scripts exist, its names resolve). 0, or -1 with `err` set."""
    cdef RaiTensor **inputs = <RaiTensor **>RedisModule_Alloc((pl.nfields + 1) * sizeof(RaiTensor *))
    cdef size_t *slots = <size_t *>RedisModule_Alloc((pl.noutputs + 1) * sizeof(size_t))
    cdef DLDataType dtype
    cdef int ndim, f, i = pl.schema_at
    cdef int64_t shape[TENSOR_MAX_NDIM]
    cdef size_t length = 0
    cdef DagParse p
    cdef int rc
    for f in range(pl.nfields):
        i = parse_field_schema(pl.argv, pl.argc, i + 1, &dtype, &ndim, shape, err)
        shape_length(ndim, shape, &length)
        inputs[f] = tensor_zeros(dtype, ndim, shape, length, err)
    rc = build_pipeline_dag(ctx, pl, inputs, &p, slots)
    if rc < 0:
        err[0] = p.error
    for f in range(pl.nfields):
        tensor_decref(inputs[f])
    dag_free(p.dag)
    dag_parse_free(&p)
    RedisModule_Free(inputs)
    RedisModule_Free(slots)
    return rc


cdef void note_error(RaiPipeline *pl, const char *text) noexcept nogil:
    note_error_text(pl, text, strlen(text))


cdef void note_error_text(RaiPipeline *pl, const char *text, size_t n) noexcept nogil:
    if n >= sizeof(pl.last_error):
        n = sizeof(pl.last_error) - 1
    memcpy(pl.last_error, text, n)
    pl.last_error[n] = 0


cdef void call_and_forget(RedisModuleCallReply *reply, RaiPipeline *pl) noexcept nogil:
    """A write's reply: its error, if any, is the pipeline's last error."""
    cdef size_t n
    cdef const char *text
    if reply == NULL:
        note_error(pl, "a Redis call failed")
        return
    if RedisModule_CallReplyType(reply) == REDISMODULE_REPLY_ERROR:
        text = RedisModule_CallReplyStringPtr(reply, &n)
        if text == NULL:
            text, n = b"a Redis call failed", 19
        note_error_text(pl, text, n)
    RedisModule_FreeCallReply(reply)


cdef void acknowledge(RedisModuleCtx *ctx, RaiPipeline *pl, RedisModuleString **ids, int n) noexcept nogil:
    call_and_forget(RedisModule_Call(ctx, "XACK", "!ssv", pl.argv[pl.input], pl.argv[pl.group], ids, <size_t>n), pl)


cdef void dead_letter(RedisModuleCtx *ctx, RaiPipeline *pl, RedisModuleString *id, const char *error) noexcept nogil:
    """The entry failed: its ID and error go to the dead-letter stream, then it is acknowledged
    (it stays in the input stream)."""
    call_and_forget(RedisModule_Call(ctx, "XADD", "!sccscc", pl.argv[pl.deadletter], "*", "entry_id", id,
                                     "error", error), pl)
    acknowledge(ctx, pl, &id, 1)
    pl.errors += 1
    note_error(pl, error)


cdef RedisModuleString *reply_string(RedisModuleCallReply *reply) noexcept nogil:
    cdef size_t n
    cdef const char *s = RedisModule_CallReplyStringPtr(reply, &n)
    if s == NULL:
        s, n = b"", 0
    return RedisModule_CreateString(NULL, s, n)


cdef RaiTensor *entry_field(RedisModuleCallReply *fields, RedisModuleString *name, DLDataType dtype, int ndim,
                            const int64_t *shape, size_t length, ErrorValue *err) noexcept nogil:
    """The tensor in field `name` of an entry's field list (the first, if repeated)."""
    cdef size_t k, n, want
    cdef const char *wanted = RedisModule_StringPtrLen(name, &want)
    cdef const char *s
    cdef RedisModuleString *value
    cdef RaiTensor *t
    for k in range(0, RedisModule_CallReplyLength(fields), 2):
        s = RedisModule_CallReplyStringPtr(RedisModule_CallReplyArrayElement(fields, k), &n)
        if s != NULL and n == want and memcmp(s, wanted, n) == 0:
            value = reply_string(RedisModule_CallReplyArrayElement(fields, k + 1))
            t = tensor_from_blob(dtype, ndim, shape, length, value, err)
            RedisModule_FreeString(NULL, value)
            return t
    error_set_token(err, E_PIPELINE_NO_FIELD, name, 180)
    return NULL


cdef RaiTensor *concatenated(RaiTensor **parts, int n) noexcept nogil:
    """The entries' tensors of one field, one after the other along the first dimension."""
    if n == 1:
        return tensor_incref(parts[0])
    cdef int64_t shape[TENSOR_MAX_NDIM]
    cdef size_t nbytes = 0, length = 0, at = 0
    cdef int k
    for k in range(parts[0].dl.ndim):
        shape[k] = parts[0].dl.shape[k]
    shape[0] *= n
    for k in range(n):
        nbytes += parts[k].nbytes
        length += parts[k].length
    cdef RaiTensor *t = tensor_alloc(parts[0].dl.dtype, parts[0].dl.ndim, shape, length, nbytes)
    if t == NULL:
        return NULL
    for k in range(n):
        memcpy(tensor_data(t) + at, tensor_data(parts[k]), parts[k].nbytes)
        at += parts[k].nbytes
    if t.dl.dtype.code == kDLString and not tensor_index_strings(t):
        tensor_decref(t)
        return NULL
    return t


cdef void batch_ended(Dag *dag) noexcept nogil:
    """The last part's worker: the main thread ends the batch when it may write."""
    call_when_writable(end_batch, dag.done_data)


cdef void free_batch(PipelineBatch *b) noexcept nogil:
    cdef int k
    for k in range(b.n):
        RedisModule_FreeString(NULL, b.ids[k])
    RedisModule_Free(b.ids)
    RedisModule_Free(b.output_slots)
    if b.dag != NULL:
        dag_free(b.dag)
    RedisModule_Free(b)


cdef const char *batch_error(PipelineBatch *b) noexcept nogil:
    """Why the batch has no output entries, or NULL."""
    cdef Dag *dag = b.dag
    cdef RaiTensor *t
    cdef size_t k
    if dag.failed or dag.timed_out:
        for k in range(dag.nops):
            if dag.ops[k].status == DAG_OP_FAILED:
                return dag_op_error(&dag.ops[k])
        return RAI_ERR_DAG_NOT_A_TENSOR
    for k in range(<size_t>b.pl.noutputs):
        t = dag.slots[b.output_slots[k]]
        if t == NULL:
            return RAI_ERR_PIPELINE_NOT_A_TENSOR
        if b.n > 1 and (t.dl.ndim < 1 or t.dl.shape[0] % b.n != 0 or t.nbytes % <size_t>b.n != 0
                        or t.dl.dtype.code == kDLString):
            return RAI_ERR_PIPELINE_OUTPUT_SPLIT
    return NULL


cdef void append_outputs(RedisModuleCtx *ctx, PipelineBatch *b) noexcept nogil:
    """One output entry per input entry: `entry_id <id>`, then each OUTPUT tensor's share."""
    cdef RaiPipeline *pl = b.pl
    cdef int nfields = 2 + 2 * pl.noutputs, i, k
    cdef RedisModuleString **fields = <RedisModuleString **>RedisModule_Alloc(nfields * sizeof(RedisModuleString *))
    cdef RaiTensor *t
    cdef size_t share
    fields[0] = RedisModule_CreateString(NULL, "entry_id", 8)
    for i in range(b.n):
        fields[1] = b.ids[i]
        for k in range(pl.noutputs):
            t = b.dag.slots[b.output_slots[k]]
            share = t.nbytes // <size_t>b.n
            fields[2 + 2 * k] = pl.argv[pl.outputs_at + k]
            fields[3 + 2 * k] = RedisModule_CreateString(NULL, tensor_data(t) + share * i, share)
        call_and_forget(RedisModule_Call(ctx, "XADD", "!scv", pl.argv[pl.output], "*", fields, <size_t>nfields), pl)
        for k in range(pl.noutputs):
            RedisModule_FreeString(NULL, fields[3 + 2 * k])
    RedisModule_FreeString(NULL, fields[0])
    RedisModule_Free(fields)


cdef void end_batch(RedisModuleCtx *ctx, void *data) noexcept nogil:
    """Main thread, no pause on: write what the batch earned, acknowledge, count."""
    cdef PipelineBatch *b = <PipelineBatch *>data
    cdef RaiPipeline *pl = b.pl
    cdef const char *error
    pl.in_flight = False
    pl.dirty = True
    if pipeline_is_released(pl) or RedisModule_GetContextFlags(ctx) & REDISMODULE_CTX_FLAGS_SLAVE:
        pl.pending_first = True  # nothing written: the entries stay pending for a later read
        free_batch(b)
        return
    RedisModule_SelectDb(ctx, pl.db)
    error = batch_error(b)
    if pl.singles_left > 0:
        pl.singles_left -= 1
    if error != NULL and b.n > 1:
        pl.singles_left = b.n  # still pending: re-read one by one
    elif error != NULL:
        dead_letter(ctx, pl, b.ids[0], error)
    else:
        append_outputs(ctx, b)
        acknowledge(ctx, pl, b.ids, b.n)
        pl.entries += b.n
    pl.batches += 1
    count_dag_runs(b.dag)
    free_batch(b)


cdef int queue_batch(RedisModuleCtx *ctx, RaiPipeline *pl, RaiTensor ***tensors, RedisModuleString **ids,
                     int n) noexcept nogil:
    """One DAG over the n valid entries (tensors[entry][field]); on failure every entry goes to
    the dead-letter stream (one alone gets its own error when re-run). Takes the ids."""
    cdef PipelineBatch *b = <PipelineBatch *>RedisModule_Alloc(sizeof(PipelineBatch))
    cdef RaiTensor **inputs = <RaiTensor **>RedisModule_Alloc((pl.nfields + 1) * sizeof(RaiTensor *))
    cdef RaiTensor **parts = <RaiTensor **>RedisModule_Alloc((n + 1) * sizeof(RaiTensor *))
    cdef DagParse p
    cdef int f, k, rc = 0
    cdef ErrorValue err
    b.pl, b.n, b.ids, b.dag = pl, n, ids, NULL
    b.output_slots = <size_t *>RedisModule_Alloc((pl.noutputs + 1) * sizeof(size_t))
    for f in range(pl.nfields):
        for k in range(n):
            parts[k] = tensors[k][f]
        inputs[f] = concatenated(parts, n)
        if inputs[f] == NULL:
            rc = -1
    if rc < 0:
        error_set(&p.error, E_TOO_LARGE)
        dag_parse_init(&p, 1, False, False)
    else:
        rc = build_pipeline_dag(ctx, pl, inputs, &p, b.output_slots)
    for f in range(pl.nfields):
        tensor_decref(inputs[f])
    RedisModule_Free(inputs)
    RedisModule_Free(parts)
    if rc == 0:
        b.dag = p.dag
        p.dag.done = batch_ended
        p.dag.done_data = b
        pl.in_flight = True
        push_dag_as(&p, pl.user, pl.db)
        dag_parse_free(&p)
        return 0
    for k in range(n):
        dead_letter(ctx, pl, ids[k], p.error.text)
    dag_free(p.dag)
    dag_parse_free(&p)
    free_batch(b)
    return -1


cdef int read_batch(RedisModuleCtx *ctx, RaiPipeline *pl) noexcept nogil:
    """One XREADGROUP and what follows: 1 if a batch is queued, 0 if entries were read but none
    queued (all dead-lettered or deleted), -1 if there was nothing to read."""
    cdef bint pending = pl.pending_first or pl.singles_left > 0
    cdef long long count = 1 if pl.singles_left > 0 else pl.batch
    cdef RedisModuleCallReply *reply = RedisModule_Call(
        ctx, "XREADGROUP", "!cscclcsc", "GROUP", pl.argv[pl.group], PIPELINE_CONSUMER, "COUNT", count,
        "STREAMS", pl.argv[pl.input], "0" if pending else ">")
    cdef RedisModuleCallReply *listed
    cdef RedisModuleCallReply *entry
    cdef RedisModuleCallReply *fields
    cdef RaiTensor ***tensors
    cdef RedisModuleString **ids
    cdef RedisModuleString *id
    cdef size_t nentries, k
    cdef int nvalid = 0, f, i, ndim, rc
    cdef int64_t shape[TENSOR_MAX_NDIM]
    cdef DLDataType dtype
    cdef size_t length = 0
    cdef ErrorValue err
    cdef bint valid
    cdef size_t n
    cdef const char *text
    if reply == NULL or RedisModule_CallReplyType(reply) != REDISMODULE_REPLY_ARRAY:
        if reply != NULL and RedisModule_CallReplyType(reply) == REDISMODULE_REPLY_ERROR:
            text = RedisModule_CallReplyStringPtr(reply, &n)
            error_set_text(&err, E_PIPELINE_READ_FAILED, text, n)
            note_error(pl, err.text)
        if reply != NULL:
            RedisModule_FreeCallReply(reply)
        return -1
    listed = RedisModule_CallReplyArrayElement(RedisModule_CallReplyArrayElement(reply, 0), 1)
    nentries = RedisModule_CallReplyLength(listed)
    if nentries == 0:
        RedisModule_FreeCallReply(reply)
        if pending:
            pl.pending_first = False
            pl.singles_left = 0
            return 0  # go on with new entries
        return -1
    tensors = <RaiTensor ***>RedisModule_Alloc(nentries * sizeof(RaiTensor **))
    ids = <RedisModuleString **>RedisModule_Alloc(nentries * sizeof(RedisModuleString *))
    for k in range(nentries):
        entry = RedisModule_CallReplyArrayElement(listed, k)
        id = reply_string(RedisModule_CallReplyArrayElement(entry, 0))
        fields = RedisModule_CallReplyArrayElement(entry, 1)
        if RedisModule_CallReplyType(fields) != REDISMODULE_REPLY_ARRAY:
            acknowledge(ctx, pl, &id, 1)  # deleted while pending: nothing to run
            RedisModule_FreeString(NULL, id)
            continue
        tensors[nvalid] = <RaiTensor **>RedisModule_Alloc((pl.nfields + 1) * sizeof(RaiTensor *))
        valid = True
        i = pl.schema_at
        for f in range(pl.nfields):
            tensors[nvalid][f] = NULL
        for f in range(pl.nfields):
            i = parse_field_schema(pl.argv, pl.argc, i + 1, &dtype, &ndim, shape, &err)
            shape_length(ndim, shape, &length)
            tensors[nvalid][f] = entry_field(fields, pl.argv[i - 3 - ndim], dtype, ndim, shape, length, &err)
            if tensors[nvalid][f] == NULL:
                valid = False
                break
        if valid:
            ids[nvalid] = id
            nvalid += 1
        else:
            for f in range(pl.nfields):
                tensor_decref(tensors[nvalid][f])
            RedisModule_Free(tensors[nvalid])
            dead_letter(ctx, pl, id, err.text)
            RedisModule_FreeString(NULL, id)
    RedisModule_FreeCallReply(reply)
    rc = 0
    if nvalid > 0:
        rc = 1 if queue_batch(ctx, pl, tensors, ids, nvalid) == 0 else 0
    else:
        RedisModule_Free(ids)
    for k in range(<size_t>nvalid):
        for f in range(pl.nfields):
            tensor_decref(tensors[k][f])
        RedisModule_Free(tensors[k])
    RedisModule_Free(tensors)
    return rc


cdef void wake_pump(void *data) noexcept nogil:
    pass  # the wake-up was the point: the loop reaches its before-sleep event again


cdef public void RAI_PumpPipelines(RedisModuleCtx *ctx) noexcept nogil:
    """The before-sleep hook (main thread), after ended batches were handed over."""
    cdef RaiPipeline *pl = pipelines_first()
    cdef int reads = 0, rc
    if pl == NULL:
        return
    cdef int flags = RedisModule_GetContextFlags(ctx)
    if flags & REDISMODULE_CTX_FLAGS_LOADING or RedisModule_AvoidReplicaTraffic():
        return
    while pl != NULL:
        if flags & REDISMODULE_CTX_FLAGS_SLAVE:
            pl.pending_first = True  # after a promotion, what this consumer had pending runs first
            pl.dirty = True
        else:
            while (pl.dirty and not pl.in_flight and not pl.paused and not pipeline_is_released(pl)
                   and reads < READS_PER_SLEEP):
                RedisModule_SelectDb(ctx, pl.db)
                rc = read_batch(ctx, pl)
                reads += 1
                if rc < 0:
                    pl.dirty = False
            if pl.dirty and not pl.in_flight and not pl.paused and reads >= READS_PER_SLEEP:
                RedisModule_EventLoopAddOneShot(wake_pump, NULL)
        pl = pl.next


cdef public int RAI_Pipeline_StreamEvent(RedisModuleCtx *ctx, int type, const char *event,
                                         RedisModuleString *key) noexcept nogil:
    """Any event on a stream (an XADD, a group reset): its pipelines may have entries to read."""
    cdef RaiPipeline *pl = pipelines_peek()
    cdef int db
    if pl == NULL:
        return 0
    db = RedisModule_GetSelectedDb(ctx)
    while pl != NULL:
        if pl.db == db and RedisModule_StringCompare(pl.argv[pl.input], key) == 0:
            pl.dirty = True
        pl = pl.next
    return 0
