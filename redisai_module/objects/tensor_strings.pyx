# STRING tensors have no DLPack form: they reach backends as numpy object arrays of bytes, and
# string-typed outputs (numpy dtype kinds O, S, U) come back as STRING tensors.
from libc.string cimport memchr, memcpy
from redisai_module.dlpack cimport kDLString
from redisai_module.objects.tensor cimport RaiTensor


cdef object string_tensor_to_array(RaiTensor *t):
    """Each element from its offset up to its NUL, as AI.TENSORGET reads it."""
    import numpy as np
    cdef const char *data = <const char *>t.dl.data
    cdef const char *nul
    cdef size_t k, start, end
    elements = np.empty(t.length, dtype=object)
    for k in range(t.length):
        start = t.offsets[k]
        nul = <const char *>memchr(data + start, 0, t.nbytes - start)
        end = <size_t>(nul - data) if nul != NULL else t.nbytes
        elements[k] = data[start:end]
    return elements.reshape([t.dl.shape[i] for i in range(t.dl.ndim)])


cdef RaiTensor *string_tensor_from_array(object array) except NULL:
    """Each element as bytes (str is UTF-8 encoded); inner NULs are refused, as for VALUES."""
    import numpy as np
    array = np.asarray(array)
    encoded = [e.encode("utf-8") if isinstance(e, str) else bytes(e) for e in array.reshape(-1)]
    if any(b"\0" in e for e in encoded):
        raise ValueError(RAI_ERR_STRING_NUL.decode())
    blob = b"".join(e + b"\0" for e in encoded)
    if len(blob) > TENSOR_MAX_SERVER_MADE_BYTES:
        raise MemoryError(RAI_ERR_TOO_LARGE.decode())
    cdef int64_t shape[TENSOR_MAX_NDIM]
    cdef int d
    if array.ndim > TENSOR_MAX_NDIM:
        raise ValueError(RAI_ERR_TOO_MANY_DIMS.decode())
    for d in range(array.ndim):
        shape[d] = array.shape[d]
    cdef RaiTensor *t = tensor_alloc(make_dtype(kDLString, 8), array.ndim, shape, len(encoded), len(blob))
    if t == NULL:
        raise MemoryError(RAI_ERR_TOO_LARGE.decode())
    memcpy(t.dl.data, <const char *>blob, len(blob))
    if not tensor_index_strings(t):
        tensor_decref(t)
        raise ValueError(RAI_ERR_STRING_BLOB.decode())
    return t


cdef object backend_input(RaiTensor *t):
    """What a backend receives for one input: a zero-copy DLPack view, or a string array."""
    if t.dl.dtype.code == kDLString:
        return string_tensor_to_array(t)
    return TensorView.wrap(t)


cdef bint is_string_array(object value):
    """A numpy array of text or bytes (what backends give and take for STRING tensors)."""
    return getattr(getattr(value, "dtype", None), "kind", None) in ("O", "S", "U")


cdef RaiTensor *tensor_from_output(object value) except NULL:
    """A backend's output as a new tensor in Redis memory."""
    if is_string_array(value):
        return string_tensor_from_array(value)
    return tensor_from_dlpack(value)


cdef object as_numpy(object value):
    import numpy as np
    return value if isinstance(value, np.ndarray) else np.from_dlpack(value)
