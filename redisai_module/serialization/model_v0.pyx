# Model decoder for encoding version 0 (RedisAI <= 1.0; docs/PERSISTENCE.md §5.2).
# FROZEN: this layout shipped; never edit this file again: a new layout gets its own decoder.
# backend, device+NUL, tag+NUL, batchsize, minbatchsize, inputs, outputs, the blob in one buffer.
from libc.stdint cimport uint64_t
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *


cdef RaiModel *model_rdb_load_v0(RedisModuleIO *io) noexcept nogil:
    cdef RaiModel *m = load_model_identity(io, True)
    if m == NULL:
        return NULL
    m.batchsize = RedisModule_LoadUnsigned(io)
    m.minbatchsize = RedisModule_LoadUnsigned(io)
    if (not load_name_list(io, &m.inputs, &m.ninputs)
            or not load_name_list(io, &m.outputs, &m.noutputs)):
        return model_load_failed(io, m)
    m.blob = load_buffer_cstring(io, False, &m.blob_len)
    if m.blob == NULL:
        return model_load_failed(io, m)
    return model_load_finish(io, m)
