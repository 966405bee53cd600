# The bridge between stored tensors and Python frameworks, through the DLPack protocol.
#   export: TensorView.__dlpack__ hands numpy/torch the tensor's own memory (zero-copy); the
#           consumer holds one tensor reference until it drops the array.
#   import: tensor_from_dlpack copies a framework's array into a new tensor in Redis memory
#           (stored values must live in the Redis allocator, never in a framework's).
from cpython.pycapsule cimport PyCapsule_New, PyCapsule_IsValid, PyCapsule_GetPointer, PyCapsule_SetName
from libc.stdint cimport int64_t
from libc.string cimport memcpy
from redisai_module.dlpack cimport *
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport RedisModule_Alloc, RedisModule_Free


cdef void _managed_deleter(DLManagedTensor *m) noexcept nogil:
    tensor_decref(<RaiTensor *>m.manager_ctx)
    RedisModule_Free(m)


cdef void _managed_versioned_deleter(DLManagedTensorVersioned *m) noexcept nogil:
    tensor_decref(<RaiTensor *>m.manager_ctx)
    RedisModule_Free(m)


cdef DLManagedTensor *tensor_to_managed(RaiTensor *t) noexcept nogil:
    """A DLPack handle on the tensor's own memory, holding one reference until its deleter runs."""
    cdef DLManagedTensor *m = <DLManagedTensor *>RedisModule_Alloc(sizeof(DLManagedTensor))
    m.manager_ctx = tensor_incref(t)
    m.deleter = _managed_deleter
    m.dl_tensor = t.dl
    return m


cdef void _capsule_destructor(object capsule) noexcept:
    """Runs when a capsule dies; only an unconsumed one still owns its tensor reference."""
    cdef DLManagedTensor *m
    cdef DLManagedTensorVersioned *mv
    if PyCapsule_IsValid(capsule, b"dltensor"):
        m = <DLManagedTensor *>PyCapsule_GetPointer(capsule, b"dltensor")
        m.deleter(m)
    elif PyCapsule_IsValid(capsule, b"dltensor_versioned"):
        mv = <DLManagedTensorVersioned *>PyCapsule_GetPointer(capsule, b"dltensor_versioned")
        mv.deleter(mv)


cdef class TensorView:
    """A Python handle on a stored tensor (one reference), exported through DLPack."""
    cdef RaiTensor *t

    @staticmethod
    cdef TensorView wrap(RaiTensor *t):
        cdef TensorView v = TensorView.__new__(TensorView)
        v.t = tensor_incref(t)
        return v

    def __dealloc__(self):
        tensor_decref(self.t)

    @property
    def shape(self):
        return tuple(self.t.dl.shape[i] for i in range(self.t.dl.ndim))

    @property
    def dtype(self):
        return dtype_name(self.t.dl.dtype).decode()

    def __dlpack_device__(self):
        return (kDLCPU, 0)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if copy:
            raise BufferError("RedisAI tensors are only exported without a copy")
        if dl_device is not None and tuple(dl_device) != (kDLCPU, 0):
            raise BufferError("RedisAI tensors live in CPU memory")
        if self.t.dl.dtype.code == kDLString:
            raise BufferError("STRING tensors have no DLPack representation")
        cdef DLManagedTensorVersioned *mv
        if max_version is not None and max_version[0] >= DLPACK_MAJOR_VERSION:
            mv = <DLManagedTensorVersioned *>RedisModule_Alloc(sizeof(DLManagedTensorVersioned))
            mv.version.major = DLPACK_MAJOR_VERSION
            mv.version.minor = DLPACK_MINOR_VERSION
            mv.manager_ctx = tensor_incref(self.t)
            mv.deleter = _managed_versioned_deleter
            mv.flags = DLPACK_FLAG_BITMASK_READ_ONLY  # stored tensors are immutable
            mv.dl_tensor = self.t.dl
            return PyCapsule_New(mv, b"dltensor_versioned", _capsule_destructor)
        return PyCapsule_New(tensor_to_managed(self.t), b"dltensor", _capsule_destructor)


cdef bint _is_compact(const DLTensor *dl) noexcept nogil:
    cdef int64_t expected = 1
    cdef int i
    if dl.strides == NULL:
        return True
    for i in range(dl.ndim):
        if dl.shape[i] == 0:
            return True  # no elements, any strides: a transposed empty torch tensor has (1, 1)
    for i in range(dl.ndim - 1, -1, -1):
        if dl.shape[i] != 1 and dl.strides[i] != expected:
            return False
        expected *= dl.shape[i]
    return True


cdef bint output_shape(const DLTensor *dl, int64_t rows, int64_t *shape, size_t *length,
                       size_t *nbytes, ErrorValue *err) noexcept nogil:
    """Check that a framework's tensor can become a stored one (CPU, row-major, a dtype we
    hold, under the cap), with its first dimension cut to `rows` (rows < 0: all of it); its
    shape, element count and byte size go to `shape`, `length` and `nbytes`. False with `err`
    set."""
    if dl.device.device_type != kDLCPU:
        error_set(err, E_OUTPUT_NOT_CPU)
        return False
    if not dtype_is_supported(dl.dtype) or dl.dtype.code == kDLString:
        error_set(err, E_OUTPUT_DTYPE)
        return False
    if not _is_compact(dl):
        error_set(err, E_OUTPUT_NOT_CONTIGUOUS)
        return False
    if dl.ndim > TENSOR_MAX_NDIM:
        error_set(err, E_TOO_MANY_DIMS)
        return False
    memcpy(shape, dl.shape, dl.ndim * sizeof(int64_t))
    if rows >= 0:
        shape[0] = rows
    if not shape_length(dl.ndim, shape, length):
        error_set(err, E_OUTPUT_SHAPE)
        return False
    nbytes[0] = length[0] * dtype_size(dl.dtype)
    if nbytes[0] > TENSOR_MAX_SERVER_MADE_BYTES:
        error_set(err, E_TOO_LARGE)
        return False
    return True


cdef RaiTensor *tensor_copy_of(const DLTensor *dl, int64_t first_row, int64_t rows, ErrorValue *err) noexcept nogil:
    """A new tensor (refcount 1) holding a copy of a CPU, row-major DLPack tensor, or of `rows`
    of its dim-0 rows from `first_row` (rows < 0: all of it); tensors over the cap (a run's
    outputs) are refused before anything is copied. NULL with `err` set."""
    cdef int64_t shape[TENSOR_MAX_NDIM]
    cdef size_t length, nbytes
    if not output_shape(dl, rows, shape, &length, &nbytes, err):
        return NULL
    cdef RaiTensor *t = tensor_alloc(dl.dtype, dl.ndim, shape, length, nbytes)
    if t == NULL:
        error_set(err, E_TOO_LARGE)
        return NULL
    cdef size_t offset = <size_t>first_row * (nbytes // <size_t>rows) if rows > 0 else 0
    memcpy(t.dl.data, <char *>dl.data + dl.byte_offset + offset, nbytes)
    tensor_normalise_bools(t)  # a bool view of other bytes: AOF rewrite must re-issue it
    return t


cdef RaiTensor *tensor_adopt(DLManagedTensor *m, ErrorValue *err) noexcept nogil:
    """A new tensor (refcount 1) over a runner's output without copying it: it owns `m` and
    calls its deleter when freed. Checked as tensor_copy_of checks; NULL with `err` set (and
    `m` still the caller's). For a DAG's intermediates, never for keys: stored values live in
    Redis memory (store_output copies an adopted tensor)."""
    cdef int64_t shape[TENSOR_MAX_NDIM]
    cdef size_t nbytes, length
    if not output_shape(&m.dl_tensor, -1, shape, &length, &nbytes, err):
        return NULL
    cdef RaiTensor *t = tensor_wrap(m.dl_tensor.dtype, m.dl_tensor.ndim, shape, length, nbytes,
                                    <char *>m.dl_tensor.data + m.dl_tensor.byte_offset, m)
    if t == NULL:
        error_set(err, E_TOO_LARGE)
        return NULL
    tensor_normalise_bools(t)  # the runner's private output: ours to change
    return t


cdef RaiTensor *tensor_from_dlpack(object array) except NULL:
    """A new tensor (refcount 1) holding a copy of a CPU, row-major DLPack array."""
    capsule = array.__dlpack__()
    if not PyCapsule_IsValid(capsule, b"dltensor"):
        raise BufferError("expected a DLPack capsule")
    cdef DLManagedTensor *m = <DLManagedTensor *>PyCapsule_GetPointer(capsule, b"dltensor")
    cdef ErrorValue err
    cdef RaiTensor *t = tensor_copy_of(&m.dl_tensor, 0, -1, &err)
    if t == NULL:
        raise (MemoryError if err.code == E_TOO_LARGE else ValueError)(err.text.decode())
    PyCapsule_SetName(capsule, b"used_dltensor")
    if m.deleter != NULL:
        m.deleter(m)
    return t
