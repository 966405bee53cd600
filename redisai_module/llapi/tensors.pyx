# Tensors for other modules (docs/CONFIG.md §6.2). RAI_Tensor* is our RaiTensor*: a tensor another
# module creates can be stored in a key with RedisModule_ModuleTypeSetValue and the tensor type.
from libc.stdint cimport int64_t
from libc.string cimport memcpy, strlen
from redisai_module.dlpack cimport DLDataType, kDLBool, kDLString
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef RaiTensor *llapi_tensor_create(const char *dtype_name_, long long *dims, int ndims) noexcept nogil:
    """A zero-filled tensor (STRING: every element empty); NULL for a bad type or shape."""
    cdef DLDataType dtype
    cdef int64_t shape[64]
    cdef size_t length
    cdef int i
    if dtype_name_ == NULL or not dtype_parse(dtype_name_, strlen(dtype_name_), &dtype):
        return NULL
    if ndims < 0 or ndims > TENSOR_MAX_NDIM or (ndims > 0 and dims == NULL):
        return NULL
    for i in range(ndims):
        shape[i] = dims[i]
    if not shape_length(ndims, shape, &length):
        return NULL
    return tensor_alloc_zeros(dtype, ndims, shape, length)


cdef inline size_t row_elements(RaiTensor *t) noexcept nogil:
    """Elements per row along dimension 0."""
    return t.length // <size_t>t.dl.shape[0] if t.dl.shape[0] > 0 else 0


cdef inline size_t element_end(RaiTensor *t, size_t i) noexcept nogil:
    """STRING: the byte offset just past element i's NUL."""
    return t.offsets[i + 1] if i + 1 < t.length else t.nbytes


cdef RaiTensor *tensor_with_rows(RaiTensor *like, int64_t rows, size_t nbytes) noexcept nogil:
    cdef int64_t shape[64]
    cdef int i
    cdef size_t length
    shape[0] = rows
    for i in range(1, like.dl.ndim):
        shape[i] = like.dl.shape[i]
    if not shape_length(like.dl.ndim, shape, &length):
        return NULL
    return tensor_alloc(like.dl.dtype, like.dl.ndim, shape, length, nbytes)


cdef RaiTensor *llapi_tensor_concat(RaiTensor **ts, long long n) noexcept nogil:
    """Along dimension 0; every tensor has the first one's type and trailing dimensions."""
    cdef long long k
    cdef int i
    cdef int64_t rows = 0
    cdef size_t nbytes = 0, pos = 0
    if n <= 0 or ts == NULL or ts[0] == NULL or ts[0].dl.ndim == 0:
        return NULL
    for k in range(n):
        if ts[k] == NULL or ts[k].dl.ndim != ts[0].dl.ndim or not dtype_equal(ts[k].dl.dtype, ts[0].dl.dtype):
            return NULL
        for i in range(1, ts[0].dl.ndim):
            if ts[k].dl.shape[i] != ts[0].dl.shape[i]:
                return NULL
        rows += ts[k].dl.shape[0]
        nbytes += ts[k].nbytes
    cdef RaiTensor *out = tensor_with_rows(ts[0], rows, nbytes)
    if out == NULL:
        return NULL
    for k in range(n):
        memcpy(tensor_data(out) + pos, ts[k].dl.data, ts[k].nbytes)
        pos += ts[k].nbytes
    if out.dl.dtype.code == kDLString:
        tensor_index_strings(out)
    return out


cdef RaiTensor *llapi_tensor_slice(RaiTensor *t, long long offset, long long len) noexcept nogil:
    """Rows [offset, offset + len) along dimension 0, copied."""
    if t == NULL or t.dl.ndim == 0 or offset < 0 or len < 0 or offset + len > t.dl.shape[0]:
        return NULL
    cdef size_t per_row = row_elements(t)
    cdef size_t first = <size_t>offset * per_row, count = <size_t>len * per_row
    cdef size_t start, end
    if t.dl.dtype.code == kDLString:
        start = t.offsets[first] if first < t.length else t.nbytes
        end = element_end(t, first + count - 1) if count > 0 else start
    else:
        start = first * dtype_size(t.dl.dtype)
        end = start + count * dtype_size(t.dl.dtype)
    cdef RaiTensor *out = tensor_with_rows(t, len, end - start)
    if out == NULL:
        return NULL
    memcpy(out.dl.data, tensor_data(t) + start, end - start)
    if out.dl.dtype.code == kDLString:
        tensor_index_strings(out)
    return out


cdef size_t llapi_tensor_length(RaiTensor *t) noexcept nogil:
    return t.length


cdef size_t llapi_tensor_data_size(RaiTensor *t) noexcept nogil:
    return dtype_size(t.dl.dtype)


cdef void llapi_tensor_free(RaiTensor *t) noexcept nogil:
    tensor_decref(t)


cdef bint holds_strings(const char *data, size_t len, size_t count) noexcept nogil:
    """`count` NUL-terminated elements, nothing after the last one."""
    cdef size_t k, nuls = 0
    if len == 0 or data[len - 1] != 0:
        return False
    for k in range(len):
        if data[k] == 0:
            nuls += 1
    return nuls == count


cdef int llapi_tensor_set_data(RaiTensor *t, const char *data, size_t len) noexcept nogil:
    """Copy a blob in, as AI.TENSORSET BLOB checks it: 1, or 0 (and no change) if it does not fit."""
    cdef void *fresh
    if t.dl.dtype.code == kDLString:
        if not holds_strings(data, len, t.length):
            return 0
        fresh = RedisModule_TryAlloc(len)
        if fresh == NULL:
            return 0
        memcpy(fresh, data, len)
        RedisModule_Free(t.dl.data)
        t.dl.data, t.nbytes = fresh, len
        tensor_index_strings(t)
        return 1
    if len != t.nbytes:
        return 0
    if t.dl.dtype.code == kDLBool and not bool_bytes_valid(data, len):
        return 0
    memcpy(t.dl.data, data, len)
    return 1


cdef inline bint index_ok(RaiTensor *t, long long i) noexcept nogil:
    return t != NULL and i >= 0 and <size_t>i < t.length


cdef int llapi_tensor_set_long_long(RaiTensor *t, long long i, long long val) noexcept nogil:
    """Integer types store a C cast of val (wrapping, as RedisAI's); a BOOL takes only 0 or 1."""
    if not index_ok(t, i) or (t.dl.dtype.code == kDLBool and not dtype_holds(t.dl.dtype, val)):
        return 0
    return element_set_long_long(t.dl.dtype, t.dl.data, i, val)


cdef int llapi_tensor_set_double(RaiTensor *t, long long i, double val) noexcept nogil:
    return index_ok(t, i) and element_set_double(t.dl.dtype, t.dl.data, i, val)


cdef int llapi_tensor_get_double(RaiTensor *t, long long i, double *val) noexcept nogil:
    return index_ok(t, i) and element_get_double(t.dl.dtype, t.dl.data, i, val)


cdef int llapi_tensor_get_long_long(RaiTensor *t, long long i, long long *val) noexcept nogil:
    return index_ok(t, i) and element_get_long_long(t.dl.dtype, t.dl.data, i, val)


cdef RaiTensor *llapi_tensor_shallow_copy(RaiTensor *t) noexcept nogil:
    return tensor_incref(t)


cdef int llapi_tensor_num_dims(RaiTensor *t) noexcept nogil:
    return t.dl.ndim


cdef long long llapi_tensor_dim(RaiTensor *t, int dim) noexcept nogil:
    return t.dl.shape[dim] if 0 <= dim < t.dl.ndim else -1


cdef size_t llapi_tensor_byte_size(RaiTensor *t) noexcept nogil:
    return t.nbytes


cdef char *llapi_tensor_data(RaiTensor *t) noexcept nogil:
    return tensor_data(t)


cdef RedisModuleType *llapi_tensor_type() noexcept nogil:
    return RAI_TensorType
