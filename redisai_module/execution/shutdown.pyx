# Shutdown (docs/CONFIG.md §1): Redis has saved and is about to exit(). exit() runs the frameworks'
# C++ static destructors, which a run still in progress on a worker would crash on, so every
# worker finishes what it runs and then parks before Redis goes on.
from posix.unistd cimport _exit
from redisai_module.redis_api cimport *

cdef enum:
    SHUTDOWN_WAIT_MS = 5000  # as long as ONNX's default MODEL_EXECUTION_TIMEOUT


cdef public void RAI_Shutdown(RedisModuleCtx *ctx) noexcept nogil:
    RedisModule_Log(ctx, "notice", "Clearing resources on shutdown")
    if run_queues_park(SHUTDOWN_WAIT_MS):
        return
    # The data is saved; leaving now is safer than letting exit() pull the framework from
    # under a run (a script waiting on Redis's lock, held here, never finishes).
    RedisModule_Log(ctx, "warning", "A run is still in progress after %d ms: exiting without waiting for it",
                    <int>SHUTDOWN_WAIT_MS)
    _exit(0)
