/* The allocator that ONNX sessions on device CPU allocate from (docs/BEHAVIOUR.md §6): Redis memory,
 * counted for INFO (onnxruntime_memory, onnxruntime_memory_access_num) and capped by
 * BACKEND_MEMORY_LIMIT. onnxruntime is reached through the C API of the copy of it that the
 * Python binding carries: the binding loads this module as a custom-op library and hands it
 * that copy's OrtApiBase (see RegisterCustomOps in onnx_allocator.cpp). */
#ifndef RAI_ONNX_ALLOCATOR_H
#define RAI_ONNX_ALLOCATOR_H

#ifdef __cplusplus
extern "C" {
#endif

/* RedisAI's text when an allocation would exceed the limit. */
#define RAI_ONNX_MEMORY_LIMIT_EXCEEDED "Onnxruntime memory limit exceeded, memory allocation failed."

/* The file to pass to SessionOptions.register_custom_ops_library: this module itself. */
const char *RAI_OnnxAllocator_LibraryPath(void);

/* Whether onnxruntime took the allocator (the adapter checks after naming the library). */
int RAI_OnnxAllocator_Registered(void);

/* Bytes (0: no limit); set before the allocator is registered. */
void RAI_OnnxAllocator_SetLimit(long long bytes);

/* Counts memory that onnxruntime holds for a session without asking the allocator (initializers,
 * which it keeps as it loaded them): `count` allocations of `bytes` in all. 0, or -1 when that
 * would exceed the limit (nothing counted then). */
int RAI_OnnxAllocator_Charge(long long bytes, long long count);
void RAI_OnnxAllocator_Uncharge(long long bytes, long long count);

/* INFO's numbers: plain atomics, readable without the GIL. */
long long RAI_OnnxAllocator_Bytes(void);
long long RAI_OnnxAllocator_Accesses(void);

#ifdef __cplusplus
}
#endif

#endif
