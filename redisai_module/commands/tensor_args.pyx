# Building a tensor from `<type> [<dim> ...] [BLOB <data> | VALUES <v> ...]` (docs/COMMANDS.md §3).
# Shared by AI.TENSORSET and, later, the TENSORSET op of DAGs. Checks run in the spec's order;
# on any error nothing is allocated and `err` holds the error value.
from libc.stdint cimport int64_t
from libc.string cimport memcpy, memchr
from redisai_module.dlpack cimport DLDataType, kDLFloat, kDLBool, kDLString
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

cdef RaiTensor *tensor_from_args(RedisModuleString **argv, int argc, ErrorValue *err) noexcept nogil:
    """argv[0] is the type name; returns a new tensor (refcount 1) or NULL with `err` set."""
    cdef DLDataType dtype
    cdef size_t n
    cdef const char *s = RedisModule_StringPtrLen(argv[0], &n)
    if not dtype_parse(s, n, &dtype):
        error_set(err, E_DTYPE)
        return NULL

    # Shape: every token up to the first BLOB/VALUES must be a strict integer >= 0. A 0 makes a
    # zero-size tensor (RedisAI refused it, but its models could store one): whatever the keyspace
    # holds, AOF rewrite and replication re-issue as AI.TENSORSET, so it must be accepted here.
    cdef int64_t shape[TENSOR_MAX_NDIM]
    cdef int ndim = 0
    cdef int i = 1
    cdef long long dim
    cdef bint has_blob = False, has_values = False
    while i < argc:
        if arg_is(argv[i], "BLOB", 4):
            has_blob = True
            break
        if arg_is(argv[i], "VALUES", 6):
            has_values = True
            break
        if (RedisModule_StringToLongLong(argv[i], &dim) != REDISMODULE_OK or dim < 0
                or ndim == TENSOR_MAX_NDIM):
            error_set(err, E_SHAPE)
            return NULL
        shape[ndim] = dim
        ndim += 1
        i += 1
    cdef size_t length
    if not shape_length(ndim, shape, &length):
        error_set(err, E_TOO_LARGE)
        return NULL
    cdef int ndata = argc - i - 1  # tokens after BLOB/VALUES
    if has_blob and ndata != 1:
        error_set(err, E_BLOB_ARGS)
        return NULL
    if has_values and <size_t>ndata != length:
        error_set(err, E_VALUES_COUNT)
        return NULL
    if has_blob:
        return tensor_from_blob(dtype, ndim, shape, length, argv[i + 1], err)
    if has_values:
        return tensor_from_values(dtype, ndim, shape, length, argv + i + 1, err)
    return tensor_zeros(dtype, ndim, shape, length, err)


cdef RaiTensor *tensor_zeros(DLDataType dtype, int ndim, const int64_t *shape, size_t length,
                             ErrorValue *err) noexcept nogil:
    """No data given: zero-filled; STRING: `length` empty strings (one NUL each)."""
    cdef RaiTensor *t = NULL
    if length <= TENSOR_MAX_SERVER_MADE_BYTES and length * dtype_size(dtype) <= TENSOR_MAX_SERVER_MADE_BYTES:
        t = tensor_alloc_zeros(dtype, ndim, shape, length)
    if t == NULL:
        error_set(err, E_TOO_LARGE)
    return t


cdef RaiTensor *tensor_from_blob(DLDataType dtype, int ndim, const int64_t *shape, size_t length,
                                 RedisModuleString *blob, ErrorValue *err) noexcept nogil:
    cdef size_t n
    cdef const char *data = RedisModule_StringPtrLen(blob, &n)
    if dtype.code != kDLString:
        if length > n or n != length * dtype_size(dtype):
            error_set(err, E_BLOB_LENGTH)
            return NULL
        if dtype.code == kDLBool and not bool_bytes_valid(data, n):
            error_set(err, E_BOOL_BLOB)
            return NULL
    elif length > n:  # every element holds at least its NUL: refused before allocating its offsets
        error_set(err, E_STRING_BLOB)
        return NULL
    cdef RaiTensor *t = tensor_alloc(dtype, ndim, shape, length, n)
    if t == NULL:
        error_set(err, E_TOO_LARGE)
        return NULL
    memcpy(t.dl.data, data, n)
    if dtype.code == kDLString and not tensor_index_strings(t):
        tensor_decref(t)
        error_set(err, E_STRING_BLOB)
        return NULL
    return t


cdef RaiTensor *tensor_from_values(DLDataType dtype, int ndim, const int64_t *shape, size_t length,
                                   RedisModuleString **values, ErrorValue *err) noexcept nogil:
    """Float types take any double; integer types (BOOL too) the integers of their range."""
    if dtype.code == kDLString:
        return string_tensor_from_values(ndim, shape, length, values, err)
    cdef RaiTensor *t = tensor_alloc(dtype, ndim, shape, length, length * dtype_size(dtype))
    if t == NULL:
        error_set(err, E_TOO_LARGE)
        return NULL
    cdef size_t k
    cdef double d
    cdef long long v
    cdef bint ok
    for k in range(length):
        if dtype.code == kDLFloat:
            ok = (RedisModule_StringToDouble(values[k], &d) == REDISMODULE_OK
                  and element_set_double(dtype, t.dl.data, k, d))
        else:
            ok = (RedisModule_StringToLongLong(values[k], &v) == REDISMODULE_OK and dtype_holds(dtype, v)
                  and element_set_long_long(dtype, t.dl.data, k, v))
        if not ok:
            tensor_decref(t)
            error_set(err, E_VALUE)
            return NULL
    return t


cdef RaiTensor *string_tensor_from_values(int ndim, const int64_t *shape, size_t length,
                                          RedisModuleString **values, ErrorValue *err) noexcept nogil:
    """Each value is one element; one trailing NUL is tolerated, an inner NUL (or an empty
    value) is refused, as RedisAI 1.2 does."""
    cdef size_t k, n, total = 0
    cdef const char *s
    for k in range(length):
        s = RedisModule_StringPtrLen(values[k], &n)
        if n > 0 and s[n - 1] == 0:
            n -= 1
        if n == 0 or memchr(s, 0, n) != NULL:
            error_set(err, E_STRING_NUL)
            return NULL
        total += n + 1
    cdef RaiTensor *t = tensor_alloc(make_dtype(kDLString, 8), ndim, shape, length, total)
    if t == NULL:
        error_set(err, E_TOO_LARGE)
        return NULL
    cdef char *out = <char *>t.dl.data
    cdef size_t pos = 0
    for k in range(length):
        s = RedisModule_StringPtrLen(values[k], &n)
        if s[n - 1] == 0:
            n -= 1
        t.offsets[k] = pos
        memcpy(out + pos, s, n)
        out[pos + n] = 0
        pos += n + 1
    return t
