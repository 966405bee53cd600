# What the Python adapters (the redisai_module.backends package) may use of the core: one object,
# handed to each adapter's constructor, so the package imports nothing of the core and its tests
# hand a stand-in. The door is narrow: the load-time configuration, the C++ allocator's one text,
# tensor views, and what only C can do (the ONNX allocator; the script ops, which execution adds).
from types import SimpleNamespace
from redisai_module.onnx_allocator cimport *


cdef class _LoadTimeConfig:
    """The settings adapters read, read-only."""

    @property
    def intra_op_parallelism(self):
        return rai_config.intra_op_parallelism

    @property
    def inter_op_parallelism(self):
        return rai_config.inter_op_parallelism

    @property
    def model_execution_timeout(self):
        return rai_config.model_execution_timeout

    @property
    def backend_memory_limit(self):
        return rai_config.backend_memory_limit


cdef class _InitializerCharge:
    """The allocator's count of a CPU session's initializers (RAI_OnnxAllocator_Charge), given
    back when the session, which holds this, is freed."""
    cdef long long nbytes, count

    def __dealloc__(self):
        RAI_OnnxAllocator_Uncharge(self.nbytes, self.count)


cdef class _OnnxAllocator:
    """The module's allocator for ONNX sessions on CPU (src/onnx_allocator.cpp)."""

    def set_limit(self, long long nbytes):
        RAI_OnnxAllocator_SetLimit(nbytes)

    def library_path(self):
        """The file onnxruntime loads as a custom-op library to take the allocator."""
        return RAI_OnnxAllocator_LibraryPath()

    def registered(self):
        return RAI_OnnxAllocator_Registered() != 0

    def charge(self, long long nbytes, long long count):
        """A holder of the charge, or None when BACKEND_MEMORY_LIMIT refuses it."""
        if RAI_OnnxAllocator_Charge(nbytes, count) != 0:
            return None
        cdef _InitializerCharge charge = _InitializerCharge.__new__(_InitializerCharge)
        charge.nbytes = nbytes
        charge.count = count
        return charge


ADAPTER_HOST = SimpleNamespace(
    config=_LoadTimeConfig(),
    messages=SimpleNamespace(ONNX_MEMORY_LIMIT_EXCEEDED=RAI_ONNX_MEMORY_LIMIT_EXCEEDED.decode()),
    TensorView=TensorView,
    is_string_array=lambda value: is_string_array(value),
    onnx_allocator=_OnnxAllocator(),
    script_hooks=None)  # a RaiScriptHooks capsule, set by execution/script_extensions.pyx
