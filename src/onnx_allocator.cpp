/* ONNX sessions' allocator: Redis memory, counted and capped (onnx_allocator.h).
 *
 * How it reaches onnxruntime: the Python binding links its own copy of onnxruntime and exports no
 * C API, but it loads custom-op libraries and calls their RegisterCustomOps with its OrtApiBase.
 * The ONNX adapter names this module as such a library once; RegisterCustomOps then registers
 * the allocator with the binding's environment (a process-wide singleton, which CreateEnv
 * returns), and sessions created with "session.use_env_allocators" allocate from it.
 *
 * C++ only for one reason: an allocator refuses by throwing. onnxruntime dereferences a NULL
 * from OrtAllocator::Alloc, and catches exceptions from allocators (its own arena throws), turning
 * them into the failed run's (or session creation's) status. */
#include "onnx_allocator.h"

#include <dlfcn.h>
#include <stdint.h>

#include <atomic>
#include <new>
#include <stdexcept>

extern "C" {
/* Redis's allocator, from redismodule.h (included here it would define them a second time: C++
 * has no common symbols). TryAlloc:
 * out of memory is a failed run, never Redis's out-of-memory abort. */
extern void *(*RedisModule_TryAlloc)(size_t bytes);
extern void (*RedisModule_Free)(void *ptr);
}

/* The parts of onnxruntime's C API used here. OrtApi is an append-only table of function
 * pointers: the indices below are those of onnxruntime_c_api.h and hold for every release since
 * API version 13 (onnxruntime 1.13), the version requested. */
namespace {

struct OrtStatus;
struct OrtEnv;
struct OrtMemoryInfo;
struct OrtSessionOptions;

struct OrtAllocator {
    uint32_t version;
    void *(*Alloc)(OrtAllocator *self, size_t size);
    void (*Free)(OrtAllocator *self, void *p);
    const OrtMemoryInfo *(*Info)(const OrtAllocator *self);
};

struct OrtApiBase {
    const void *(*GetApi)(uint32_t version);
    const char *(*GetVersionString)(void);
};

const uint32_t kApiVersion = 13;
const int kOrtRuntimeException = 6;    /* OrtErrorCode ORT_RUNTIME_EXCEPTION */
const int kOrtLoggingLevelWarning = 2; /* OrtLoggingLevel, the binding's own default */
const int kOrtDeviceAllocator = 0;     /* OrtAllocatorType */
const int kOrtMemTypeDefault = 0;      /* OrtMemType */

typedef OrtStatus *(*CreateStatusFn)(int code, const char *msg);
typedef OrtStatus *(*CreateEnvFn)(int logging_level, const char *logid, OrtEnv **out);
typedef OrtStatus *(*CreateMemoryInfoFn)(const char *name, int type, int id, int mem_type,
                                         OrtMemoryInfo **out);
typedef OrtStatus *(*RegisterAllocatorFn)(OrtEnv *env, OrtAllocator *allocator);

enum ApiIndex { kCreateStatus = 0, kCreateEnv = 3, kCreateMemoryInfo = 68, kRegisterAllocator = 176 };

template <typename Fn>
Fn api_function(const void *api, ApiIndex index) {
    return reinterpret_cast<Fn>(static_cast<void *const *>(api)[index]);
}

/* Blocks are aligned as onnxruntime's own CPU allocator aligns them (its kernels vectorise);
 * the Redis block and the requested size sit just before the aligned address. */
const uintptr_t kAlignment = 64;
const size_t kHeader = 2 * sizeof(void *);

std::atomic<long long> allocated_bytes{0};
std::atomic<long long> allocator_calls{0};
long long limit_bytes = 0;
OrtMemoryInfo *memory_info = nullptr;
bool registered = false;

/* Adds `bytes` unless the total would pass the limit. */
bool take(long long bytes) {
    long long total = allocated_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    if (limit_bytes > 0 && total > limit_bytes) {
        allocated_bytes.fetch_sub(bytes, std::memory_order_relaxed);
        return false;
    }
    return true;
}

void *allocate(OrtAllocator *, size_t size) {
    allocator_calls.fetch_add(1, std::memory_order_relaxed);
    if (!take(static_cast<long long>(size)))
        throw std::runtime_error(RAI_ONNX_MEMORY_LIMIT_EXCEEDED);
    char *block = static_cast<char *>(RedisModule_TryAlloc(size + kHeader + kAlignment - 1));
    if (block == nullptr) {
        allocated_bytes.fetch_sub(static_cast<long long>(size), std::memory_order_relaxed);
        throw std::bad_alloc();
    }
    uintptr_t aligned = (reinterpret_cast<uintptr_t>(block) + kHeader + kAlignment - 1) & ~(kAlignment - 1);
    void **header = reinterpret_cast<void **>(aligned);
    header[-1] = block;
    header[-2] = reinterpret_cast<void *>(size);
    return header;
}

void release(OrtAllocator *, void *p) {
    if (p == nullptr)
        return;
    allocator_calls.fetch_add(1, std::memory_order_relaxed);
    void **header = static_cast<void **>(p);
    allocated_bytes.fetch_sub(static_cast<long long>(reinterpret_cast<uintptr_t>(header[-2])),
                              std::memory_order_relaxed);
    RedisModule_Free(header[-1]);
}

const OrtMemoryInfo *info(const OrtAllocator *) {
    return memory_info;
}

OrtAllocator redis_allocator = {kApiVersion, allocate, release, info};

}  // namespace

extern "C" {

const char *RAI_OnnxAllocator_LibraryPath(void) {
    Dl_info dl;
    if (dladdr(reinterpret_cast<void *>(&RAI_OnnxAllocator_LibraryPath), &dl) == 0)
        return nullptr;
    return dl.dli_fname;
}

void RAI_OnnxAllocator_SetLimit(long long bytes) {
    limit_bytes = bytes;
}

int RAI_OnnxAllocator_Charge(long long bytes, long long count) {
    allocator_calls.fetch_add(count, std::memory_order_relaxed);
    return take(bytes) ? 0 : -1;
}

void RAI_OnnxAllocator_Uncharge(long long bytes, long long count) {
    allocator_calls.fetch_add(count, std::memory_order_relaxed);
    allocated_bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

int RAI_OnnxAllocator_Registered(void) {
    return registered;
}

long long RAI_OnnxAllocator_Bytes(void) {
    return allocated_bytes.load(std::memory_order_relaxed);
}

long long RAI_OnnxAllocator_Accesses(void) {
    return allocator_calls.load(std::memory_order_relaxed);
}

/* Called by onnxruntime's binding when the adapter registers this module as a custom-op library;
 * it adds no ops. The environment reference taken here is kept: the allocator serves it for the
 * life of the process. */
__attribute__((visibility("default")))
OrtStatus *RegisterCustomOps(OrtSessionOptions *, const OrtApiBase *base) {
    const void *api = base->GetApi(kApiVersion);
    if (api == nullptr || registered)
        return nullptr;  // older than API 13 (RAI_OnnxAllocator_Registered tells); or done already
    if (RedisModule_TryAlloc == nullptr)
        return api_function<CreateStatusFn>(api, kCreateStatus)(
            kOrtRuntimeException, "this Redis lacks RedisModule_TryAlloc, which ONNX sessions need");
    OrtEnv *env = nullptr;
    OrtStatus *status = api_function<CreateEnvFn>(api, kCreateEnv)(kOrtLoggingLevelWarning, "redisai", &env);
    if (status == nullptr && memory_info == nullptr)
        status = api_function<CreateMemoryInfoFn>(api, kCreateMemoryInfo)(
            "Cpu", kOrtDeviceAllocator, 0, kOrtMemTypeDefault, &memory_info);
    if (status == nullptr)
        status = api_function<RegisterAllocatorFn>(api, kRegisterAllocator)(env, &redis_allocator);
    registered = status == nullptr;
    return status;
}

}
