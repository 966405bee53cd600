# Today's model encoder: what RDB save and DUMP write (encoding RAI_ENCODING_VERSION, read back by
# model_v2_v4.pyx; docs/PERSISTENCE.md §3.2) and what AOF rewrite emits (§6). The blob goes in chunks
# of MODEL_CHUNK_SIZE, read at save time (AI.CONFIG can change it).
from libc.stdint cimport uint64_t
from libc.string cimport strlen
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *


cdef void model_rdb_save(RedisModuleIO *io, RaiModel *m) noexcept nogil:
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


cdef void model_aof_rewrite(RedisModuleIO *aof, RedisModuleString *key, RaiModel *m) noexcept nogil:
    """AI.MODELSTORE <key> <BACKEND> <device> TAG <tag> BATCHSIZE n MINBATCHSIZE m
    MINBATCHTIMEOUT t [INPUTS n ... OUTPUTS n ...] BLOB <chunk>..."""
    cdef size_t chunk = <size_t>rai_config.model_chunk_size
    cdef size_t nchunks = m.blob_len // chunk + 1
    cdef size_t cap = 12 + m.ninputs + m.noutputs + 4 + nchunks
    cdef RedisModuleString **args = <RedisModuleString **>RedisModule_Alloc(cap * sizeof(RedisModuleString *))
    cdef size_t n = 0, k
    args[n] = aof_cstring(backend_name(m.backend)); n += 1
    args[n] = aof_cstring(m.head.device); n += 1
    args[n] = aof_cstring("TAG"); n += 1
    args[n] = RedisModule_CreateString(NULL, m.head.tag, m.head.tag_len); n += 1
    args[n] = aof_cstring("BATCHSIZE"); n += 1
    args[n] = aof_number(m.batchsize); n += 1
    args[n] = aof_cstring("MINBATCHSIZE"); n += 1
    args[n] = aof_number(m.minbatchsize); n += 1
    args[n] = aof_cstring("MINBATCHTIMEOUT"); n += 1
    args[n] = aof_number(m.minbatchtimeout); n += 1
    if backend_of(m.backend).names_at_store:
        args[n] = aof_cstring("INPUTS"); n += 1
        args[n] = aof_number(m.ninputs); n += 1
        for k in range(m.ninputs):
            args[n] = aof_cstring(m.inputs[k]); n += 1
        args[n] = aof_cstring("OUTPUTS"); n += 1
        args[n] = aof_number(m.noutputs); n += 1
        for k in range(m.noutputs):
            args[n] = aof_cstring(m.outputs[k]); n += 1
    args[n] = aof_cstring("BLOB"); n += 1
    for k in range(nchunks):
        args[n] = RedisModule_CreateString(NULL, m.blob + k * chunk,
                                           chunk if k < nchunks - 1 else m.blob_len % chunk)
        n += 1
    emit_aof_and_free(aof, "AI.MODELSTORE", key, args, n)
