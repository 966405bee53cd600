# Which frozen decoder reads each encoding version, one table per type. RDB load and RESTORE hand
# the type callback the version a value was written with; RAI_ENCODING_VERSION is the newest we
# read and the one the *_save.pyx encoders write. A new encoding adds a row to each table; the
# rows of shipped versions never change. Also the log lines of a load that fails.
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *
from redisai_module.serialization.encoding_version cimport RAI_ENCODING_VERSION

cdef extern from *:
    """
    #include "encoding_version.h"
    #if RAI_ENCODING_VERSION != 4
    #error "a new encoding version: add its row to each table in serialization/decoders.pyx"
    #endif
    """


cdef RaiTensor *tensor_rdb_decode(RedisModuleIO *io, int encver) noexcept nogil:
    if not encver_readable(io, encver, "tensor"):
        return NULL
    if encver <= 3:
        return tensor_rdb_load_v0_v3(io)
    return tensor_rdb_load_v4(io)


cdef RaiModel *model_rdb_decode(RedisModuleIO *io, int encver) noexcept nogil:
    if not encver_readable(io, encver, "model"):
        return NULL
    if encver == 0:
        return model_rdb_load_v0(io)
    if encver == 1:
        return model_rdb_load_v1(io)
    return model_rdb_load_v2_v4(io)


cdef RaiScript *script_rdb_decode(RedisModuleIO *io, int encver) noexcept nogil:
    if not encver_readable(io, encver, "script"):
        return NULL
    if encver == 0:
        return script_rdb_load_v0(io)
    if encver <= 2:
        return script_rdb_load_v1_v2(io)
    return script_rdb_load_v3_v4(io)


cdef bint encver_readable(RedisModuleIO *io, int encver, const char *what) noexcept nogil:
    """False, logged as RedisAI logs it, for a version newer than this module writes."""
    if encver <= RAI_ENCODING_VERSION:
        return True
    RedisModule_LogIOError(io, "warning", "Failed loading %s, RedisAI version (%d) is not forward compatible.",
                           what, REDISAI_MODULE_VERSION)
    return False


cdef void log_short_read(RedisModuleIO *io, const char *what) noexcept nogil:
    RedisModule_LogIOError(io, "warning", "Experienced a short read while reading a %s from RDB", what)
