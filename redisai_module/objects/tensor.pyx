# Tensor life cycle: allocation from the Redis allocator, reference counting, shape maths.
# Everything here is nogil and calls no Python: it also runs in BGSAVE's forked child and in
# Redis's lazy-free thread.
from libc.stdint cimport int64_t, uint8_t, uint64_t, SIZE_MAX
from libc.string cimport memchr, memset
from redisai_module.dlpack cimport DLDataType, DLManagedTensor, kDLCPU, kDLBool, kDLString
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

cdef extern from *:
    """
    #include <stdint.h>
    static inline int64_t rai_refcount_incr(int64_t *p) { return __atomic_add_fetch(p, 1, __ATOMIC_RELAXED); }
    static inline int64_t rai_refcount_decr(int64_t *p) { return __atomic_sub_fetch(p, 1, __ATOMIC_ACQ_REL); }
    """
    int64_t rai_refcount_incr(int64_t *p) nogil
    int64_t rai_refcount_decr(int64_t *p) nogil

cdef bint shape_length(int ndim, const int64_t *shape, size_t *out) noexcept nogil:
    """Product of the dimensions; False on a negative dimension or on overflow."""
    cdef size_t n = 1
    cdef int i
    for i in range(ndim):
        if shape[i] < 0:
            return False
        if shape[i] != 0 and n > SIZE_MAX // <size_t>shape[i]:
            return False
        n *= <size_t>shape[i]
    out[0] = n
    return True


cdef RaiTensor *tensor_wrap(DLDataType dtype, int ndim, const int64_t *shape, size_t length,
                            size_t nbytes, void *data, void *owner) noexcept nogil:
    """A header (refcount 1, row-major strides) for `data`: a Redis block when `owner` is NULL,
    else memory the DLManagedTensor `owner` frees. NULL if it cannot be allocated (`data` and
    `owner` stay the caller's). `length` must be shape_length(shape); STRING tensors get room for
    `length` offsets."""
    if ndim < 0 or ndim > TENSOR_MAX_NDIM:
        return NULL
    cdef size_t n_offsets = length if dtype.code == kDLString else 0
    if n_offsets > (SIZE_MAX // 2) // sizeof(uint64_t):
        return NULL
    cdef char *block = <char *>RedisModule_TryAlloc(
        sizeof(RaiTensor) + 2 * ndim * sizeof(int64_t) + n_offsets * sizeof(uint64_t))
    if block == NULL:
        return NULL
    cdef RaiTensor *t = <RaiTensor *>block
    cdef int64_t *dims = <int64_t *>(block + sizeof(RaiTensor))
    cdef int64_t *strides = dims + ndim
    cdef int i
    cdef int64_t stride = 1
    for i in range(ndim):
        dims[i] = shape[i]
    for i in range(ndim - 1, -1, -1):
        strides[i] = stride
        stride *= shape[i]
    t.dl.data = data
    t.dl.device.device_type = kDLCPU
    t.dl.device.device_id = 0
    t.dl.ndim = ndim
    t.dl.dtype = dtype
    t.dl.shape = dims
    t.dl.strides = strides
    t.dl.byte_offset = 0
    t.refcount = 1
    t.length = length
    t.nbytes = nbytes
    t.offsets = <uint64_t *>(strides + ndim) if n_offsets else NULL
    t.owner = owner
    return t


cdef RaiTensor *tensor_alloc(DLDataType dtype, int ndim, const int64_t *shape,
                             size_t length, size_t nbytes) noexcept nogil:
    """A tensor with uninitialised data, refcount 1; NULL if it cannot be allocated."""
    cdef void *data = RedisModule_TryAlloc(nbytes)
    if data == NULL:
        return NULL
    cdef RaiTensor *t = tensor_wrap(dtype, ndim, shape, length, nbytes, data, NULL)
    if t == NULL:
        RedisModule_Free(data)
    return t


cdef RaiTensor *tensor_alloc_zeros(DLDataType dtype, int ndim, const int64_t *shape,
                                   size_t length) noexcept nogil:
    """A zero-filled tensor (STRING: `length` empty strings, one NUL each), refcount 1; NULL if
    it cannot be allocated. The caller caps `length` if it must (the LLAPI does not)."""
    cdef size_t size = dtype_size(dtype)
    if size == 0 or length > SIZE_MAX // size:
        return NULL
    cdef RaiTensor *t = tensor_alloc(dtype, ndim, shape, length, length * size)
    if t == NULL:
        return NULL
    memset(t.dl.data, 0, length * size)
    cdef size_t k
    if dtype.code == kDLString:
        for k in range(length):
            t.offsets[k] = k
    return t


cdef inline RaiTensor *tensor_incref(RaiTensor *t) noexcept nogil:
    rai_refcount_incr(&t.refcount)
    return t


cdef inline void tensor_decref(RaiTensor *t) noexcept nogil:
    cdef DLManagedTensor *owner
    if t != NULL and rai_refcount_decr(&t.refcount) == 0:
        owner = <DLManagedTensor *>t.owner
        if owner == NULL:
            RedisModule_Free(t.dl.data)
        elif owner.deleter != NULL:
            owner.deleter(owner)
        RedisModule_Free(t)


cdef inline size_t tensor_memory(RaiTensor *t) noexcept nogil:
    if t.owner != NULL:
        return RedisModule_MallocSize(t) + t.nbytes
    return RedisModule_MallocSize(t) + RedisModule_MallocSize(t.dl.data)


cdef inline char *tensor_data(RaiTensor *t) noexcept nogil:
    return <char *>t.dl.data


cdef bint tensor_index_strings(RaiTensor *t) noexcept nogil:
    """Fill the offsets of a STRING tensor from its data: exactly `length` NUL-terminated
    elements (empty ones allowed; a zero-size tensor has no data). False if the data does not
    hold exactly that many."""
    cdef const char *data = tensor_data(t)
    cdef const char *end = data + t.nbytes
    cdef const char *p = data
    cdef const char *nul
    cdef size_t i
    if t.nbytes == 0:
        return t.length == 0
    if data[t.nbytes - 1] != 0:
        return False
    for i in range(t.length):
        if p >= end:
            return False
        nul = <const char *>memchr(p, 0, end - p)
        if nul == NULL:
            return False
        t.offsets[i] = p - data
        p = nul + 1
    return p == end


cdef bint bool_bytes_valid(const char *data, size_t n) noexcept nogil:
    """Every byte 0 or 1, as a BOOL blob must be to be stored (RedisAI skipped the last byte;
    we check every one: a 2 is never a valid BOOL)."""
    cdef size_t k
    for k in range(n):
        if <uint8_t>data[k] > 1:
            return False
    return True


cdef bint tensor_normalise_bools(RaiTensor *t) noexcept nogil:
    """BOOL bytes other than 0 become 1, the only true byte AI.TENSORSET accepts (a framework's
    bool view of other bytes, RedisAI's unchecked last BLOB byte). True if any byte changed."""
    cdef uint8_t *data = <uint8_t *>t.dl.data
    cdef size_t k
    cdef bint changed = False
    if t.dl.dtype.code != kDLBool:
        return False
    for k in range(t.nbytes):
        if data[k] > 1:
            data[k] = 1
            changed = True
    return changed


cdef void tensor_dim_strings(RaiTensor *t, RedisModuleString **dims) noexcept nogil:
    """The dimensions as strings, for re-issuing AI.TENSORSET (AOF rewrite, replication)."""
    cdef int i
    for i in range(t.dl.ndim):
        dims[i] = RedisModule_CreateStringFromLongLong(NULL, t.dl.shape[i])


cdef void free_dim_strings(RaiTensor *t, RedisModuleString **dims) noexcept nogil:
    cdef int i
    for i in range(t.dl.ndim):
        RedisModule_FreeString(NULL, dims[i])
