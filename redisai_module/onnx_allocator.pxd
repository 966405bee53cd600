# The ONNX sessions' allocator (src/onnx_allocator.h): Redis memory, counted for INFO and capped
# by BACKEND_MEMORY_LIMIT.
cdef extern from "onnx_allocator.h" nogil:
    const char *RAI_ONNX_MEMORY_LIMIT_EXCEEDED
    const char *RAI_OnnxAllocator_LibraryPath()
    int RAI_OnnxAllocator_Registered()
    void RAI_OnnxAllocator_SetLimit(long long bytes)
    int RAI_OnnxAllocator_Charge(long long bytes, long long count)
    void RAI_OnnxAllocator_Uncharge(long long bytes, long long count)
    long long RAI_OnnxAllocator_Bytes()
    long long RAI_OnnxAllocator_Accesses()
