# The serialization room's doors: one decoder per type (it dispatches on the encoding version)
# and today's RDB and AOF encoders. The type callbacks are their only callers.
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.pipeline cimport RaiPipeline
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

# model_save.pyx
cdef void model_aof_rewrite(RedisModuleIO *aof, RedisModuleString *key, RaiModel *m) noexcept nogil
cdef void model_rdb_save(RedisModuleIO *io, RaiModel *m) noexcept nogil

# decoders.pyx
cdef RaiModel *model_rdb_decode(RedisModuleIO *io, int encver) noexcept nogil
cdef RaiScript *script_rdb_decode(RedisModuleIO *io, int encver) noexcept nogil
cdef RaiTensor *tensor_rdb_decode(RedisModuleIO *io, int encver) noexcept nogil

# pipeline_rdb.pyx
cdef void pipeline_aof_rewrite(RedisModuleIO *aof, RedisModuleString *key, RaiPipeline *pl) noexcept nogil
cdef RaiPipeline *pipeline_rdb_decode(RedisModuleIO *io) noexcept nogil
cdef void pipeline_rdb_save(RedisModuleIO *io, RaiPipeline *pl) noexcept nogil

# script_save.pyx
cdef void script_aof_rewrite(RedisModuleIO *aof, RedisModuleString *key, RaiScript *s) noexcept nogil
cdef void script_rdb_save(RedisModuleIO *io, RaiScript *s) noexcept nogil

# tensor_save.pyx
cdef void tensor_aof_rewrite(RedisModuleIO *aof, RedisModuleString *key, RaiTensor *t) noexcept nogil
cdef void tensor_rdb_save(RedisModuleIO *io, RaiTensor *t) noexcept nogil
