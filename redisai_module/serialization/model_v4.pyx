# Model codec for encoding versions 2, 3 and 4 (RedisAI 1.2.3+; PERSISTENCE.md §3.2): one
# layout, the one we write. backend, device+NUL, tag, batchsize, minbatchsize, minbatchtimeout,
# inputs+NUL, outputs+NUL, blob length, chunk count, chunks of MODEL_CHUNK_SIZE.
from libc.stdint cimport uint64_t
from libc.string cimport strlen
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *


cdef void save_name_list(RedisModuleIO *io, char **names, size_t n) noexcept nogil:
    cdef size_t k
    RedisModule_SaveUnsigned(io, n)
    for k in range(n):
        RedisModule_SaveStringBuffer(io, names[k], strlen(names[k]) + 1)


cdef void model_rdb_save_v4(RedisModuleIO *io, RaiModel *m) noexcept nogil:
    cdef size_t chunk = <size_t>rai_config.model_chunk_size
    cdef size_t nchunks = m.blob_len // chunk + 1
    cdef size_t k
    RedisModule_SaveUnsigned(io, m.backend)
    RedisModule_SaveStringBuffer(io, m.head.device, strlen(m.head.device) + 1)
    RedisModule_SaveStringBuffer(io, m.head.tag, m.head.tag_len)
    RedisModule_SaveUnsigned(io, m.batchsize)
    RedisModule_SaveUnsigned(io, m.minbatchsize)
    RedisModule_SaveUnsigned(io, m.minbatchtimeout)
    save_name_list(io, m.inputs, m.ninputs)
    save_name_list(io, m.outputs, m.noutputs)
    RedisModule_SaveUnsigned(io, m.blob_len)
    RedisModule_SaveUnsigned(io, nchunks)
    for k in range(nchunks):
        RedisModule_SaveStringBuffer(io, m.blob + k * chunk,
                                     chunk if k < nchunks - 1 else m.blob_len % chunk)


cdef RaiModel *model_rdb_load_v4(RedisModuleIO *io) noexcept nogil:
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
