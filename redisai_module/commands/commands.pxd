# The commands room's doors. The LLAPI builds models, scripts and DAGs with the commands' own
# parsers; AI._DEBUG and the load-time arguments use their keyword and key helpers.
from redisai_module.execution.run cimport Run, Dag, DagOp
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

# runs.pyx
cdef void count_run(Run *run) noexcept nogil

# runnable_keys.pyx
cdef RedisModuleKey *open_runnable_key(RedisModuleCtx *ctx, RedisModuleString *name, bint is_script, int mode,
                                       void **value, ErrorValue *err) noexcept nogil

# keys.pyx
cdef RedisModuleKey *open_tensor_key_for_write(RedisModuleCtx *ctx, RedisModuleString *name,
                                               ErrorValue *err) noexcept nogil
cdef RaiTensor *read_tensor_key(RedisModuleCtx *ctx, RedisModuleString *name, RedisModuleKey **keyp,
                                ErrorValue *err) noexcept nogil
cdef void store_tensor(RedisModuleKey *key, RaiTensor *t) noexcept nogil

# The parsers the LLAPI shares with the commands, and the DAG parser's state.
ctypedef struct DagName:
    const char *name     # NULL: free entry
    size_t length
    size_t slot

ctypedef struct DagNames:
    DagName *entries
    size_t mask

ctypedef struct OpNames:
    RedisModuleString **inputs     # DAG-local names the op reads, pointers into argv
    int ninputs
    RedisModuleString **outputs    # names it produces
    int noutputs
    bint owned                     # both lists allocated by parse_scriptrun

ctypedef struct DagParse:
    Dag *dag
    bint read_only                 # _RO: no PERSIST, no SCRIPTEXECUTE
    bint deprecated                # DAGRUN: MODELRUN/SCRIPTRUN ops instead of the *EXECUTE ones
    DagNames names
    int capacity                   # of op_names and part_queues (the command's argc)
    OpNames *op_names              # one per op
    RunQueue **part_queues         # one per part
    size_t next_slot
    RedisModuleString **persist_names
    int npersist
    RedisModuleString *xpersist_stream    # XPERSIST (§7.5): NULL when absent
    RedisModuleString **xpersist_names
    int nxpersist
    long long timeout_ms
    bint seen_load
    bint seen_persist
    bint seen_routing
    bint seen_timeout
    bint seen_xload
    int first_op                   # index of the `|>` that starts the first op, or argc
    ErrorValue error               # why the parse failed: set before any step returns -1

cdef bint arg_is(RedisModuleString *arg, const char *word, size_t word_len) noexcept nogil
cdef int reply_error_value(RedisModuleCtx *ctx, const ErrorValue *e) noexcept nogil
cdef bint device_is_valid(RedisModuleString *arg) noexcept nogil
cdef void dag_name_bind(DagNames *t, RedisModuleString *name, size_t slot) noexcept nogil
cdef void dag_parse_free(DagParse *p) noexcept nogil
cdef void dag_parse_init(DagParse *p, int argc, bint read_only, bint deprecated) noexcept nogil
cdef size_t new_slot(DagParse *p) noexcept nogil
cdef int parse_dag_op(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, DagParse *p) noexcept nogil
cdef int place_op(DagParse *p, DagOp *op, size_t ninputs, size_t noutputs, const char *device) noexcept nogil
cdef int resolve_dag_names(DagParse *p) noexcept nogil
