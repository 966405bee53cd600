# Replying with a tensor in the META / BLOB / VALUES formats (docs/COMMANDS.md §4). Shared by
# AI.TENSORGET and, later, the TENSORGET op of DAGs.
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *
from redisai_module.system cimport strnlen

cdef enum:
    TENSOR_FMT_META = 1
    TENSOR_FMT_BLOB = 2
    TENSOR_FMT_VALUES = 4


cdef int parse_tensor_formats(RedisModuleString **argv, int argc, ErrorValue *err) noexcept nogil:
    """META/BLOB/VALUES tokens, in any order and repeated; none means META+BLOB. 0 on error."""
    cdef int fmt = 0
    cdef int i
    for i in range(argc):
        if arg_is(argv[i], "META", 4):
            fmt |= TENSOR_FMT_META
        elif arg_is(argv[i], "BLOB", 4):
            fmt |= TENSOR_FMT_BLOB
        elif arg_is(argv[i], "VALUES", 6):
            fmt |= TENSOR_FMT_VALUES
        else:
            error_set(err, E_DATA_FORMAT)
            return 0
    if fmt & TENSOR_FMT_BLOB and fmt & TENSOR_FMT_VALUES:
        error_set(err, E_BLOB_AND_VALUES)
        return 0
    return fmt if fmt else TENSOR_FMT_META | TENSOR_FMT_BLOB


cdef int reply_tensor(RedisModuleCtx *ctx, RaiTensor *t, int fmt) noexcept nogil:
    cdef const char *name = dtype_name(t.dl.dtype)
    cdef int i
    if name == NULL and fmt & (TENSOR_FMT_META | TENSOR_FMT_VALUES):
        return RedisModule_ReplyWithError(
            ctx, RAI_ERR_UNSUPPORTED_DTYPE if fmt & TENSOR_FMT_META else RAI_ERR_VALUES_DTYPE)
    if not fmt & TENSOR_FMT_META:
        if fmt & TENSOR_FMT_BLOB:
            return RedisModule_ReplyWithStringBuffer(ctx, <const char *>t.dl.data, t.nbytes)
        return reply_tensor_values(ctx, t)
    RedisModule_ReplyWithArray(ctx, 6 if fmt & (TENSOR_FMT_BLOB | TENSOR_FMT_VALUES) else 4)
    RedisModule_ReplyWithCString(ctx, "dtype")
    RedisModule_ReplyWithCString(ctx, name)
    RedisModule_ReplyWithCString(ctx, "shape")
    RedisModule_ReplyWithArray(ctx, t.dl.ndim)
    for i in range(t.dl.ndim):
        RedisModule_ReplyWithLongLong(ctx, t.dl.shape[i])
    if fmt & TENSOR_FMT_BLOB:
        RedisModule_ReplyWithCString(ctx, "blob")
        RedisModule_ReplyWithStringBuffer(ctx, <const char *>t.dl.data, t.nbytes)
    elif fmt & TENSOR_FMT_VALUES:
        RedisModule_ReplyWithCString(ctx, "values")
        reply_tensor_values(ctx, t)
    return REDISMODULE_OK


cdef int reply_tensor_values(RedisModuleCtx *ctx, RaiTensor *t) noexcept nogil:
    """A flat array of every element in row-major order: doubles for float types (the
    server formats them), integers otherwise, bulk strings for STRING."""
    cdef size_t k
    cdef const char *data = <const char *>t.dl.data
    cdef double d
    cdef long long v
    RedisModule_ReplyWithArray(ctx, t.length)
    for k in range(t.length):
        if element_get_double(t.dl.dtype, data, k, &d):
            RedisModule_ReplyWithDouble(ctx, d)
        elif element_get_long_long(t.dl.dtype, data, k, &v):
            RedisModule_ReplyWithLongLong(ctx, v)
        else:  # STRING: every element ends with its NUL (checked on every way in); bounded all the same
            RedisModule_ReplyWithStringBuffer(
                ctx, data + t.offsets[k], strnlen(data + t.offsets[k], t.nbytes - t.offsets[k]))
    return REDISMODULE_OK
