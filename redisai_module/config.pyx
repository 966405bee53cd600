# The module's settings (docs/CONFIG.md §2), read by every room: the base of the layering, so it
# calls no other room. The load-time arguments that set them are parsed in
# commands/module_arguments.pyx (they load backends and use the commands' keyword parsing).
from libc.stdio cimport snprintf
from libc.string cimport strncasecmp, strrchr, strlen
from redisai_module.redis_api cimport *
from redisai_module.system cimport Dl_info, dladdr

cdef RaiConfig rai_config


cdef void config_set_backends_path(const char *path, size_t n) noexcept nogil:
    if rai_config.backends_path != NULL:
        RedisModule_Free(rai_config.backends_path)
    rai_config.backends_path = copy_cstring(path, n)


cdef void config_set_default_backends_path() noexcept nogil:
    """<directory of redisai.so>/backends, as RedisAI's default."""
    cdef Dl_info info
    cdef char path[4096]
    cdef const char *slash
    if dladdr(<void *>config_set_defaults, &info) == 0 or info.dli_fname == NULL:
        config_set_backends_path("backends", 8)
        return
    slash = strrchr(info.dli_fname, b'/')
    if slash == NULL:
        config_set_backends_path("backends", 8)
        return
    snprintf(path, sizeof(path), "%.*s/backends", <int>(slash - info.dli_fname), info.dli_fname)
    config_set_backends_path(path, strlen(path))


cdef void config_set_defaults() noexcept nogil:
    config_set_default_backends_path()
    rai_config.threads_per_queue = 1
    rai_config.intra_op_parallelism = 0
    rai_config.inter_op_parallelism = 0
    rai_config.model_chunk_size = 535822336  # 511 MiB: RedisAI 1.2's default, as its clients' tests expect
    rai_config.model_execution_timeout = 5000
    rai_config.backend_memory_limit = 0
    rai_config.async_dag_result_ttl = 60000
    rai_config.async_dag_max_pending = 10000
    rai_config.debug_command = False
    rai_config.admission_control = False


cdef public bint RAI_Config_DebugCommand() noexcept nogil:
    return rai_config.debug_command
