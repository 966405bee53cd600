# The model value: everything RedisAI persists (backend, device, tag, batching options, input
# and output names, the original blob) lives in C memory from the Redis allocator, so RDB, AOF
# and DUMP never touch Python. `handle` is the backend's loaded model, a Python object.
from libc.stdint cimport int64_t, uint64_t
from redisai_module.objects.run_stats cimport RunStats

cdef enum:
    RAI_BACKEND_TF = 0      # the numbering is RedisAI's, stored in RDB files
    RAI_BACKEND_TFLITE = 1
    RAI_BACKEND_TORCH = 2
    RAI_BACKEND_ONNX = 3

ctypedef struct RaiModel:
    int64_t refcount     # atomic: keys and queued runs hold references
    int backend
    char *device         # as given at store time (case kept), NUL-terminated
    char *tag            # any bytes
    size_t tag_len
    uint64_t batchsize
    uint64_t minbatchsize
    uint64_t minbatchtimeout
    size_t ninputs
    char **inputs        # NUL-terminated names
    size_t noutputs
    char **outputs
    char *blob           # the model exactly as uploaded
    size_t blob_len
    void *handle         # PyObject*, one owned reference; released through deferred_release
    RunStats *stats      # AI.INFO counters, owned; NULL until the model is stored under a key
