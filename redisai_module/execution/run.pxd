# One queued execution of a model or a script function: what the command captured on the main
# thread (references to the model or script and the input tensors), and what the worker leaves
# for the reply (outputs or an error).
from libc.stdint cimport int64_t
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport RedisModuleBlockedClient, RedisModuleString

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
    char *error                    # one-line error text, or NULL
    RedisModuleBlockedClient *blocked_client
    int64_t timeout_ms             # 0: none
    int64_t queued_at_ms
    bint timed_out
    int64_t duration_us
