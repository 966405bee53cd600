# The model value: everything RedisAI persists (backend, device, tag, batching options, input
# and output names, the original blob) lives in C memory from the Redis allocator, so RDB, AOF
# and DUMP never touch Python. Its header (device, tag, handle, statistics) is a script's too.
from libc.stdint cimport uint64_t
from redisai_module.objects.runnable cimport RaiRunnable

cdef enum:
    RAI_BACKEND_TF = 0      # the numbering is RedisAI's, stored in RDB files
    RAI_BACKEND_TFLITE = 1
    RAI_BACKEND_TORCH = 2
    RAI_BACKEND_ONNX = 3

ctypedef struct RaiModel:
    RaiRunnable head     # first: a RaiModel * is a RaiRunnable *
    int backend
    uint64_t batchsize
    uint64_t minbatchsize
    uint64_t minbatchtimeout
    size_t ninputs
    char **inputs        # NUL-terminated names
    size_t noutputs
    char **outputs
    char *blob           # the model exactly as uploaded
    size_t blob_len
