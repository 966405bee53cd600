# The base room's doors: what every room may read. errors.pxi holds every client-visible error
# string and the ErrorValue parsers fill (error_values.pyx); the settings live in config.pyx, the
# C-string copy in cstrings.pyx.

include "errors.pxi"  # rendered from errors.pxi.in (the table redisai_module/errors.py) by setup.py

ctypedef struct RaiConfig:
    char *backends_path           # Redis memory; default <module dir>/backends
    long long threads_per_queue
    long long intra_op_parallelism
    long long inter_op_parallelism
    long long model_chunk_size
    long long model_execution_timeout
    long long backend_memory_limit
    long long async_dag_result_ttl   # ms an ended async DAG's result stays readable
    long long async_dag_max_pending  # async DAGs queued or running at most
    bint debug_command
    bint admission_control        # refuse runs that cannot meet their TIMEOUT; earliest deadline first

cdef RaiConfig rai_config
cdef void config_set_backends_path(const char *path, size_t n) noexcept nogil
cdef void config_set_defaults() noexcept nogil
cdef char *copy_cstring(const char *s, size_t n) noexcept nogil
cdef int error_set_token(ErrorValue *e, int code, RedisModuleString *token, int max_token) noexcept nogil
cdef int error_set_text(ErrorValue *e, int code, const char *s, size_t n) noexcept nogil
