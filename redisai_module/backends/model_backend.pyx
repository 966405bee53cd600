# Loading a model's blob into its backend (the one step of a model's life that needs Python).
from cpython.pycapsule cimport PyCapsule_GetPointer
from cpython.ref cimport Py_INCREF
from redisai_module.native_runner cimport RaiNativeRunner, RAI_NATIVE_RUNNER_CAPSULE
from redisai_module.objects.model cimport RaiModel


cdef list names_of(char **names, size_t n):
    return [names[i].decode("utf-8", "surrogateescape") for i in range(n)]


cdef char **name_list_from(list names, size_t *count):
    cdef char **out = new_name_list(len(names))
    cdef bytes encoded
    for k, name in enumerate(names):
        encoded = name.encode("utf-8", "surrogateescape")
        out[k] = copy_cstring(encoded, len(encoded))
    count[0] = len(names)
    return out


cdef object model_attach_handle(RaiModel *m):
    """Load m into its backend; None on success, else the client-visible error text."""
    release_parked()
    adapter = backend_adapter(m.backend)
    if adapter is None:
        return RAI_ERR_LOAD_BACKEND.decode()
    try:
        handle, inputs, outputs = adapter.create(
            m.blob[:m.blob_len], m.head.device.decode("latin-1"),
            names_of(m.inputs, m.ninputs), names_of(m.outputs, m.noutputs))
    except Exception as e:
        return str(e) or RAI_ERR_GENERIC.decode()  # whole: the LLAPI's RedisAI_GetError shows it so
    if not backend_of(m.backend).names_at_store:
        free_name_list(m.inputs, m.ninputs)
        free_name_list(m.outputs, m.noutputs)
        m.inputs = name_list_from(inputs, &m.ninputs)
        m.outputs = name_list_from(outputs, &m.noutputs)
    Py_INCREF(handle)
    m.head.handle = <void *>handle
    m.head.native = native_runner_of(adapter, handle)
    memory_bytes = getattr(adapter, "memory_bytes", None)
    m.head.backend_bytes = memory_bytes(handle) if memory_bytes is not None else -1
    if m.head.stats != NULL:  # loaded after it was stored (a backend loaded later)
        m.head.stats.backend_bytes = m.head.backend_bytes
    return None


cdef const RaiNativeRunner *native_runner_of(adapter, handle) except? NULL:
    """The runner workers call with no GIL, when the adapter gives one (the handle owns it)."""
    give = getattr(adapter, "native_runner", None)
    capsule = give(handle) if give is not None else None
    if capsule is None:
        return NULL
    return <const RaiNativeRunner *>PyCapsule_GetPointer(capsule, RAI_NATIVE_RUNNER_CAPSULE)

