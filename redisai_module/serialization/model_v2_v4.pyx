# Model decoder for encoding versions 2, 3 and 4 (RedisAI 1.2.3+; docs/PERSISTENCE.md §3.2): one
# layout, the one model_save.pyx writes today.
# FROZEN: this layout shipped; never edit this file again: a new layout gets its own decoder.
# backend, device+NUL, tag, batchsize, minbatchsize, minbatchtimeout, inputs+NUL, outputs+NUL,
# blob length, chunk count, chunks.
from libc.stdint cimport uint64_t
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *


cdef RaiModel *model_rdb_load_v2_v4(RedisModuleIO *io) noexcept nogil:
    cdef RaiModel *m = load_model_identity(io, False)
    if m == NULL:
        return NULL
    m.batchsize = RedisModule_LoadUnsigned(io)
    m.minbatchsize = RedisModule_LoadUnsigned(io)
    m.minbatchtimeout = RedisModule_LoadUnsigned(io)
    if (not load_name_list(io, &m.inputs, &m.ninputs)
            or not load_name_list(io, &m.outputs, &m.noutputs)
            or not load_chunked_blob(io, m)):
        return model_load_failed(io, m)
    return model_load_finish(io, m)
