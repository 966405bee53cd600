# The backends room's doors: loading a backend, loading a model or script into it (the one step
# of their life that needs Python), the adapters the workers run, and each backend's version.
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.redis_api cimport *

# registry.pyx
cdef char backend_version[N_BACKENDS][64]
cdef bint backend_version_set[N_BACKENDS]

# loading.pyx
cdef bint load_backend(RedisModuleCtx *ctx, int backend, RedisModuleString *path_arg) noexcept nogil

# model_backend.pyx
cdef list names_of(char **names, size_t n)

# runnable_loading.pyx
cdef char *runnable_error_one_line(char *error) noexcept nogil
cdef char *runnable_load(RaiRunnable *h) noexcept nogil
cdef bint runnable_load_or_log(RaiRunnable *h) noexcept nogil

# Python-level doors (a .pxd cannot declare def functions or Python objects):
# python doors: ADAPTER_HOST backend_adapter backend_not_loaded one_line take_released_us
