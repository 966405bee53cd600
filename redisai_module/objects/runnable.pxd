# The header a model and a script share: both are runnable values (stored under a key, loaded
# into a backend, queued on their device, counted in AI.INFO). It is the first member `head` of
# RaiModel and RaiScript, so code that does not care which one it holds takes a RaiRunnable *
# (&m.head, &s.head) and reads the rest of the value only through the kind-specific functions.
from libc.stdint cimport int64_t
from redisai_module.native_runner cimport RaiNativeRunner
from redisai_module.objects.run_stats cimport RunStats

ctypedef struct RaiRunnable:
    int64_t refcount     # atomic: keys and queued runs hold references
    bint is_script       # which struct this header begins
    char *device         # as given at store time (case kept), NUL-terminated
    char *tag            # any bytes
    size_t tag_len
    void *handle         # PyObject*: the backend's loaded model or compiled script, one owned
                         # reference; released through deferred_release
    const RaiNativeRunner *native  # what workers call with no GIL, when the adapter gave one;
                         # owned by the handle, so valid while the handle is
    RunStats *stats      # AI.INFO counters, owned; NULL until the value is stored under a key
    int64_t backend_bytes  # what its framework holds for it (torch parameters and buffers, ONNX
                         # initializers), from the adapter at load; -1 where it cannot say
