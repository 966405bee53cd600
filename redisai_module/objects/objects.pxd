# The objects room's doors: what keys hold (tensors, models, scripts, their shared header, run
# statistics, the backend and dtype tables) and the calls other rooms may make on them.
from libc.stdint cimport int64_t, uint8_t
from redisai_module.dlpack cimport DLDataType, DLManagedTensor, DLTensor
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.pipeline cimport RaiPipeline
from redisai_module.objects.run_stats cimport RunStats
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

include "backend_table.pxi"

cdef enum:
    TENSOR_MAX_NDIM = 64  # checked before allocating: RDB and DUMP input is untrusted
    # Tensors whose size no client sent (a TENSORSET given no data, a run's outputs) are capped
    # where Redis caps a BLOB argument (proto-max-bulk-len's default): a shape typo or a runaway
    # script cannot make the server copy gigabytes into its own memory.
    TENSOR_MAX_SERVER_MADE_BYTES = 512 * 1024 * 1024

# tensor_strings.pyx
cdef object as_numpy(object value)
cdef object backend_input(RaiTensor *t)
cdef bint is_string_array(object value)
cdef RaiTensor *tensor_from_output(object value) except NULL

# backend_table.pyx
cdef const char *backend_name(int code) noexcept nogil
cdef const Backend *backend_of(int code) noexcept nogil

# tensor.pyx
cdef bint bool_bytes_valid(const char *data, size_t n) noexcept nogil
cdef void free_dim_strings(RaiTensor *t, RedisModuleString **dims) noexcept nogil
cdef bint shape_length(int ndim, const int64_t *shape, size_t *out) noexcept nogil
cdef RaiTensor *tensor_alloc(DLDataType dtype, int ndim, const int64_t *shape, size_t length, size_t nbytes) noexcept nogil
cdef RaiTensor *tensor_alloc_zeros(DLDataType dtype, int ndim, const int64_t *shape, size_t length) noexcept nogil
cdef char *tensor_data(RaiTensor *t) noexcept nogil
cdef void tensor_decref(RaiTensor *t) noexcept nogil
cdef void tensor_dim_strings(RaiTensor *t, RedisModuleString **dims) noexcept nogil
cdef RaiTensor *tensor_incref(RaiTensor *t) noexcept nogil
cdef bint tensor_index_strings(RaiTensor *t) noexcept nogil
cdef size_t tensor_memory(RaiTensor *t) noexcept nogil
cdef bint tensor_normalise_bools(RaiTensor *t) noexcept nogil

# dtypes.pxi.in
cdef bint dtype_equal(DLDataType a, DLDataType b) noexcept nogil
cdef bint dtype_holds(DLDataType dt, long long v) noexcept nogil
cdef bint dtype_is_supported(DLDataType dt) noexcept nogil
cdef const char *dtype_name(DLDataType dt) noexcept nogil
cdef bint dtype_parse(const char *s, size_t n, DLDataType *out) noexcept nogil
cdef size_t dtype_size(DLDataType dt) noexcept nogil
cdef bint element_get_double(DLDataType dt, const void *data, size_t k, double *out) noexcept nogil
cdef bint element_get_long_long(DLDataType dt, const void *data, size_t k, long long *out) noexcept nogil
cdef bint element_set_double(DLDataType dt, void *data, size_t k, double v) noexcept nogil
cdef bint element_set_long_long(DLDataType dt, void *data, size_t k, long long v) noexcept nogil
cdef DLDataType make_dtype(uint8_t code, uint8_t bits) noexcept nogil

# model.pyx
cdef void free_name_list(char **names, size_t n) noexcept nogil
cdef void model_decref(RaiModel *m) noexcept nogil
cdef RaiModel *model_incref(RaiModel *m) noexcept nogil
cdef size_t model_memory(RaiModel *m) noexcept nogil
cdef RaiModel *model_new(int backend) noexcept nogil
cdef char **new_name_list(size_t n) noexcept nogil

# value_keys.pyx
cdef bint key_holds(RedisModuleKey *key, RedisModuleType *type) noexcept nogil
cdef RedisModuleKey *open_value_key(RedisModuleCtx *ctx, RedisModuleString *name, RedisModuleType *type,
                                    int mode, int empty_code, ErrorValue *err) noexcept nogil

# deferred_release.pyx
cdef bint parked_pending() noexcept nogil
cdef void release_parked() noexcept

# histograms.pyx
cdef int batch_bucket(int64_t rows) noexcept nogil
cdef int64_t batch_bucket_top(int k) noexcept nogil
cdef int64_t histogram_percentile(const int64_t *hist, int nbuckets, int percent) noexcept nogil
cdef int latency_bucket(int64_t us) noexcept nogil

# pipeline.pyx
cdef int parse_field_schema(RedisModuleString **argv, int argc, int i, DLDataType *dtype, int *ndim,
                            int64_t *shape, ErrorValue *err) noexcept nogil
cdef void pipeline_free(RaiPipeline *pl) noexcept nogil
cdef bint pipeline_is_released(RaiPipeline *pl) noexcept nogil
cdef void pipeline_key_released(RaiPipeline *pl) noexcept nogil
cdef size_t pipeline_memory(RaiPipeline *pl) noexcept nogil
cdef RaiPipeline *pipeline_new(RedisModuleString **argv, int argc, RedisModuleString *user, RedisModuleString *key,
                               int db, ErrorValue *err) noexcept nogil
cdef void pipeline_register(RaiPipeline *pl) noexcept nogil
cdef RaiPipeline *pipelines_first() noexcept nogil
cdef RaiPipeline *pipelines_peek() noexcept nogil

# run_stats.pyx
cdef RunStats *run_stats_find_locked(const char *key, size_t key_len) noexcept nogil
cdef RunStats *run_stats_first_locked() noexcept nogil
cdef void run_stats_lock() noexcept nogil
cdef void run_stats_unlock() noexcept nogil

# runnable.pyx
cdef void runnable_decref(RaiRunnable *h) noexcept nogil
cdef void runnable_key_released(RaiRunnable *h) noexcept nogil
cdef void runnable_set_device(RaiRunnable *h, const char *device, size_t n) noexcept nogil
cdef void runnable_set_tag(RaiRunnable *h, const char *tag, size_t n) noexcept nogil
cdef void runnable_track_stats(RaiRunnable *h, const char *key, size_t key_len) noexcept nogil

# script.pyx
cdef void script_decref(RaiScript *s) noexcept nogil
cdef RaiScript *script_incref(RaiScript *s) noexcept nogil
cdef size_t script_memory(RaiScript *s) noexcept nogil
cdef RaiScript *script_new() noexcept nogil

# tensor_dlpack.pyx
cdef RaiTensor *tensor_adopt(DLManagedTensor *m, ErrorValue *err) noexcept nogil
cdef RaiTensor *tensor_copy_of(const DLTensor *dl, int64_t first_row, int64_t rows, ErrorValue *err) noexcept nogil
cdef RaiTensor *tensor_from_dlpack(object array) except NULL
cdef DLManagedTensor *tensor_to_managed(RaiTensor *t) noexcept nogil

# Python-level doors (a .pxd cannot declare def functions or Python objects):
# python doors: TensorView
