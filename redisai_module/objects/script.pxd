# The script value: device, tag, TorchScript source and entry points live in C memory (RDB,
# AOF and DUMP never touch Python); `handle` is the compiled torch CompilationUnit.
from libc.stdint cimport int64_t
from redisai_module.objects.run_stats cimport RunStats

ctypedef struct RaiScript:
    int64_t refcount      # atomic: keys and queued runs hold references
    char *device          # as given at store time, NUL-terminated
    char *tag
    size_t tag_len
    char *source          # NUL-terminated
    size_t source_len
    size_t nentry_points
    char **entry_points   # in the order given (AI.SCRIPTGET reports them so)
    void *handle          # PyObject*, one owned reference; released through deferred_release
    RunStats *stats
