# Which frozen decoder reads each encoding version, one table per type. RDB load and RESTORE hand
# the type callback the version a value was written with; RAI_ENCODING_VERSION is the newest we
# read and the one the *_save.pyx encoders write. A new encoding adds a row to each table; the
# rows of shipped versions never change. Also the log lines of a load that fails.
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *
from redisai_module.serialization.encoding_version cimport RAI_ENCODING_VERSION
from redisai_module.system cimport REDISAI_MODULE_VERSION

cdef extern from *:
    """
    #include "encoding_version.h"
    #if RAI_ENCODING_VERSION != 4
    #error "a new encoding version: add its row to each table in serialization/decoders.pyx"
    #endif
    """


cdef RaiTensor *tensor_rdb_decode(RedisModuleIO *io, int encver) noexcept nogil:
    if encver > RAI_ENCODING_VERSION:
        return <RaiTensor *>refuse_newer_encoding(io, "tensor")
    return (tensor_rdb_load_v0_v3(io) if encver <= 3 else
            tensor_rdb_load_v4(io))


cdef RaiModel *model_rdb_decode(RedisModuleIO *io, int encver) noexcept nogil:
    if encver > RAI_ENCODING_VERSION:
        return <RaiModel *>refuse_newer_encoding(io, "model")
    return (model_rdb_load_v0(io) if encver == 0 else
            model_rdb_load_v1(io) if encver == 1 else
            model_rdb_load_v2_v4(io))


cdef RaiScript *script_rdb_decode(RedisModuleIO *io, int encver) noexcept nogil:
    if encver > RAI_ENCODING_VERSION:
        return <RaiScript *>refuse_newer_encoding(io, "script")
    return (script_rdb_load_v0(io) if encver == 0 else
            script_rdb_load_v1_v2(io) if encver <= 2 else
            script_rdb_load_v3_v4(io))


cdef void *refuse_newer_encoding(RedisModuleIO *io, const char *what) noexcept nogil:
    """NULL, logged as RedisAI logs it: the value was written by a newer version."""
    RedisModule_LogIOError(io, "warning", "Failed loading %s, RedisAI version (%d) is not forward compatible.",
                           what, REDISAI_MODULE_VERSION)
    return NULL


cdef void log_short_read(RedisModuleIO *io, const char *what) noexcept nogil:
    RedisModule_LogIOError(io, "warning", "Experienced a short read while reading a %s from RDB", what)
