# The work the run queues carry. A Run is one model or script call: what the command captured
# on the main thread (references to the model or script and the input tensors) and what the
# worker leaves for the reply (outputs or an error). A Dag is a chain of such calls sharing
# tensors by slot; it is queued as one Run "part" per device (docs/BEHAVIOUR.md §3).
from libc.stdint cimport int64_t
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.pthreads cimport pthread_mutex_t
from redisai_module.redis_api cimport RedisModuleBlockedClient, RedisModuleString

cdef struct Dag

# What another module's code gets when its asynchronous run or DAG ends (the LLAPI, docs/CONFIG.md §6).
ctypedef void (*FinishCallback)(void *finish_ctx, void *private_data) noexcept nogil

ctypedef struct Run:
    Run *next                 # run queue link
    RaiModel *model                # one reference; NULL for a script run
    RaiScript *script              # one reference; NULL for a model run
    char *function                 # script runs: the function to call
    size_t nkeys                   # script runs: KEYS and ARGS, passed as strings
    char **keys
    size_t nargs
    char **args
    size_t ninputs
    RaiTensor **inputs             # one reference each
    size_t noutputs
    RedisModuleString **output_keys
    RaiTensor **outputs            # filled by the worker; NULL where the model gave no tensor
                                   # (a successful model step: that output is not a tensor)
    char *error                    # one-line error text, or NULL
    bint outputs_stay_in_dag       # a DAG step: its outputs fill slots, never keys, so a native
                                   # runner's outputs are kept as they are (tensor_adopt)
    RedisModuleBlockedClient *blocked_client  # the client waiting (for a DAG step: the DAG's)
    RedisModuleString *user        # script runs: the caller's ACL user, for Redis calls the script makes
    int db                         # script runs: the caller's database, where its Redis calls run
    int64_t timeout_ms             # 0: none
    int64_t queued_at_ms
    int64_t queued_at_us           # live introspection: the queue wait is started_us - queued_at_us
    int64_t started_us             #   (a DAG step waits from its part's queueing or previous step)
    int64_t batch_size             # model runs: rows of the batch it ran in (its own if alone)
    int64_t deadline_us            # admission control: earliest deadline first (queue order)
    int64_t estimate_us            #   what it is expected to take (0: unknown)
    int64_t skip_until_us          #   put back to wait (DAG inputs, MINBATCHSIZE): others go first
    bint timed_out
    int64_t duration_us
    Dag *dag                       # set on a DAG's per-device part: its steps are the DAG's ops
    int dag_part                   #   on this device, walked in order from dag_cursor
    size_t dag_cursor
    FinishCallback on_finish       # LLAPI runs: the caller's callback, called by `done`
    void *on_finish_data
    void (*done)(Run *run) noexcept nogil  # LLAPI runs: called on the worker instead of unblocking
                                   # a client; set by the LLAPI, so execution never calls up into it

cdef enum DagOpKind:
    DAG_TENSORSET
    DAG_TENSORGET
    DAG_MODEL
    DAG_SCRIPT

cdef enum DagOpStatus:
    DAG_OP_PENDING
    DAG_OP_DONE
    DAG_OP_FAILED

ctypedef struct DagOp:
    DagOpKind kind
    DagOpStatus status
    Run *run                       # model and script ops: the call (inputs/outputs by slot)
    int part                       # the device part that runs it
    size_t *input_slots            # run.ninputs of them; TENSORGET: its one slot
    size_t *output_slots           # run.noutputs of them; TENSORSET: its one slot
    int tensorget_format

cdef struct Dag:
    pthread_mutex_t lock           # slots and status, shared by the parts' workers
    size_t nslots
    RaiTensor **slots              # one reference each; NULL until produced
    bint *slot_not_tensor          # produced, but not a tensor (e.g. an ONNX ZipMap): slot stays NULL
    size_t nops
    DagOp *ops
    size_t npersist
    RedisModuleString **persist_keys
    size_t *persist_slots
    RedisModuleString *xpersist_stream    # XPERSIST: one new entry of these fields, or NULL
    size_t nxpersist
    RedisModuleString **xpersist_fields
    size_t *xpersist_slots
    int nparts
    Run **parts
    int parts_left
    bint failed
    bint timed_out
    RedisModuleBlockedClient *blocked_client
    void *done_data                # what `done` needs: the LLAPI caller's DAG context, an async DAG's record
    bint started                   # a worker took one of its steps (async DAGs report RUNNING)
    void (*done)(Dag *dag) noexcept nogil  # LLAPI and async DAGs: what the last part's worker calls
