# The module's sections of INFO MODULES (docs/CONFIG.md §4): versions, git, load-time configs, loaded
# backends and CPU time. Redis prefixes section and field names with `ai_`. The callback never
# takes the GIL: INFO must answer while a worker holds it for a long run, and it also runs in
# crash reports.
from libc.stdio cimport snprintf
from posix.resource cimport getrusage, rusage, RUSAGE_SELF, RUSAGE_CHILDREN
from posix.time cimport clock_gettime, timespec
from posix.types cimport clockid_t
from redisai_module.pthreads cimport pthread_t, pthread_getcpuclockid
from redisai_module.onnx_allocator cimport RAI_OnnxAllocator_Accesses, RAI_OnnxAllocator_Bytes
from redisai_module.redis_api cimport *
from redisai_module.serialization.encoding_version cimport RAI_ENCODING_VERSION
from redisai_module.system cimport REDISAI_VERSION_MAJOR, REDISAI_VERSION_MINOR, REDISAI_VERSION_PATCH, RUSAGE_THREAD
from redisai_module.system cimport REDISAI_GIT_SHA, RAI_LLAPI_VERSION, tolower


cdef void add_seconds_field(RedisModuleInfoCtx *ctx, const char *name, long sec, long usec) noexcept nogil:
    cdef char value[48]
    snprintf(value, sizeof(value), "%ld.%06ld", sec, usec)
    RedisModule_InfoAddFieldCString(ctx, name, value)


cdef void add_rusage_fields(RedisModuleInfoCtx *ctx, int who, const char *sys_name,
                            const char *user_name) noexcept nogil:
    cdef rusage usage
    if getrusage(who, &usage) != 0:
        RedisModule_InfoAddFieldCString(ctx, sys_name, "N/A")
        RedisModule_InfoAddFieldCString(ctx, user_name, "N/A")
        return
    add_seconds_field(ctx, sys_name, usage.ru_stime.tv_sec, usage.ru_stime.tv_usec)
    add_seconds_field(ctx, user_name, usage.ru_utime.tv_sec, usage.ru_utime.tv_usec)


cdef void add_worker_cpu_fields(RedisModuleInfoCtx *ctx) noexcept nogil:
    cdef char name[128]
    cdef clockid_t clock
    cdef timespec t
    cdef int i, k
    cdef RunQueue *q
    for i in range(n_run_queues):
        q = run_queues[i]
        for k in range(q.n_threads):
            snprintf(name, sizeof(name), "queue_%s_bthread_n%d_used_cpu_total", q.device, k + 1)
            if pthread_getcpuclockid(q.threads[k], &clock) != 0 or clock_gettime(clock, &t) != 0:
                RedisModule_InfoAddFieldCString(ctx, name, "N/A")
            else:
                add_seconds_field(ctx, name, t.tv_sec, t.tv_nsec // 1000)


cdef long long worker_thread_count() noexcept nogil:
    cdef long long n = 0
    cdef int i
    for i in range(n_run_queues):
        n += run_queues[i].n_threads
    return n


cdef void add_allocator_fields(RedisModuleInfoCtx *ctx) noexcept nogil:
    """The module allocator's counters (src/onnx_allocator.cpp), under RedisAI's ONNX names."""
    RedisModule_InfoAddFieldLongLong(ctx, "onnxruntime_memory", RAI_OnnxAllocator_Bytes())
    RedisModule_InfoAddFieldLongLong(ctx, "onnxruntime_memory_access_num", RAI_OnnxAllocator_Accesses())
    RedisModule_InfoAddFieldLongLong(ctx, "onnxruntime_maximum_run_sessions_number",
                                     worker_thread_count())


cdef void add_backends_fields(RedisModuleInfoCtx *ctx) noexcept nogil:
    """The loaded backends in table order, each with its version field (and its others)."""
    cdef int code
    for code in range(N_BACKENDS):
        if backend_version_set[code]:
            RedisModule_InfoAddFieldCString(ctx, backend_table[code].version_field, backend_version[code])
            if backend_table[code].info_allocator_fields:
                add_allocator_fields(ctx)


cdef void add_worker_gil_fields(RedisModuleInfoCtx *ctx) noexcept nogil:
    """Per backend (lower-cased) and for scripts: <kind>_runs and <kind>_gil_held_us, cumulative."""
    cdef char field[64]
    cdef char name[16]
    cdef int kind, i
    cdef const char *kind_name
    for kind in range(N_WORKER_KINDS):
        kind_name = "script"
        if kind != WORKER_KIND_SCRIPT:
            kind_name = backend_table[kind].name
        snprintf(name, sizeof(name), "%s", kind_name)
        for i in range(sizeof(name)):
            name[i] = tolower(name[i])
        snprintf(field, sizeof(field), "%s_runs", name)
        RedisModule_InfoAddFieldLongLong(ctx, field, worker_runs[kind])
        snprintf(field, sizeof(field), "%s_gil_held_us", name)
        RedisModule_InfoAddFieldLongLong(ctx, field, worker_gil_held_us[kind])


cdef public void RAI_Info_Modules(RedisModuleInfoCtx *ctx, int for_crash_report) noexcept nogil:
    cdef char version[32]
    snprintf(version, sizeof(version), "%d.%d.%d",
             REDISAI_VERSION_MAJOR, REDISAI_VERSION_MINOR, REDISAI_VERSION_PATCH)
    RedisModule_InfoAddSection(ctx, "versions")
    RedisModule_InfoAddFieldCString(ctx, "RedisAI_version", version)
    RedisModule_InfoAddFieldLongLong(ctx, "low_level_API_version", RAI_LLAPI_VERSION)
    RedisModule_InfoAddFieldLongLong(ctx, "rdb_version", RAI_ENCODING_VERSION)

    RedisModule_InfoAddSection(ctx, "git")
    RedisModule_InfoAddFieldCString(ctx, "git_sha", REDISAI_GIT_SHA)

    RedisModule_InfoAddSection(ctx, "load_time_configs")
    RedisModule_InfoAddFieldLongLong(ctx, "threads_per_queue", rai_config.threads_per_queue)
    RedisModule_InfoAddFieldLongLong(ctx, "inter_op_parallelism", rai_config.inter_op_parallelism)
    RedisModule_InfoAddFieldLongLong(ctx, "intra_op_parallelism", rai_config.intra_op_parallelism)
    RedisModule_InfoAddFieldLongLong(ctx, "model_execution_timeout", rai_config.model_execution_timeout)
    RedisModule_InfoAddFieldLongLong(ctx, "backend_memory_limit", rai_config.backend_memory_limit)

    RedisModule_InfoAddSection(ctx, "backends_info")
    add_backends_fields(ctx)

    RedisModule_InfoAddSection(ctx, "cpu")
    add_rusage_fields(ctx, RUSAGE_SELF, "self_used_cpu_sys", "self_used_cpu_user")
    add_rusage_fields(ctx, RUSAGE_CHILDREN, "children_used_cpu_sys", "children_used_cpu_user")
    # The INFO callback runs on Redis's main thread, so this thread's usage is the main thread's.
    add_rusage_fields(ctx, RUSAGE_THREAD, "main_thread_used_cpu_sys", "main_thread_used_cpu_user")
    add_worker_cpu_fields(ctx)

    RedisModule_InfoAddSection(ctx, "workers")
    add_worker_gil_fields(ctx)

    if not for_crash_report:  # they take the queues' and the statistics' locks
        add_live_sections(ctx)
