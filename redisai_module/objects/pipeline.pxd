# The standing pipeline value (docs/COMMANDS.md §7.6): a key that binds a DAG to an input stream
# and its consumer group. The definition is the creating command's arguments after the key,
# kept as given (RDB, AOF and replicas get exactly that back); the rest is where its parts are
# in them, and what the main thread's pump knows about its progress (not data).
from libc.stdint cimport int64_t
from redisai_module.redis_api cimport RedisModuleString

ctypedef struct RaiPipeline:
    int argc
    RedisModuleString **argv       # the definition, held strings
    RedisModuleString *user        # the creator's ACL user: script steps run as it; NULL: none
    RedisModuleString *key         # the key it was stored or loaded under
    int db
    bint paused
    # where the definition's parts are in argv (indices of the values)
    int input
    int group
    int output
    int deadletter
    int schema_at                  # the first schema field's name
    int nfields
    int outputs_at                 # the first OUTPUT tensor name
    int noutputs
    long long batch
    int first_op                   # the first `|>`
    # the pump's state, main thread only, except `released` (any thread: the key's free callback)
    int released                   # its key let go of it: the pump frees it when nothing is in flight
    bint dirty                     # there may be entries to read
    bint in_flight                 # a batch is queued or running
    bint pending_first             # read this consumer's pending entries (ID 0) before new ones
    long long singles_left         # a failed batch's entries, re-run one by one
    long long entries              # answered with an output entry
    long long errors               # sent to the dead-letter stream
    long long batches
    int64_t since_ms               # when this server started running it
    char last_error[256]
    RaiPipeline *next              # the registry
