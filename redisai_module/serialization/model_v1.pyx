# Model decoder for encoding version 1 (RedisAI 1.2.0-1.2.2; docs/PERSISTENCE.md §5.2).
# FROZEN: this layout shipped; never edit this file again: a new layout gets its own decoder.
# As v0 but the tag is a plain string and the blob is chunked; no minbatchtimeout yet.
from libc.stdint cimport uint64_t
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *


cdef RaiModel *model_rdb_load_v1(RedisModuleIO *io) noexcept nogil:
    cdef RaiModel *m = load_model_identity(io, False)
    if m == NULL:
        return NULL
    m.batchsize = RedisModule_LoadUnsigned(io)
    m.minbatchsize = RedisModule_LoadUnsigned(io)
    if (not load_name_list(io, &m.inputs, &m.ninputs)
            or not load_name_list(io, &m.outputs, &m.noutputs)
            or not load_chunked_blob(io, m)):
        return model_load_failed(io, m)
    return model_load_finish(io, m)
