# The C library and build headers the core uses beyond Redis's (redis_api.pxd), DLPack's
# (dlpack.pxd), pthreads (pthreads.pxd) and the ONNX allocator's (onnx_allocator.pxd): with those,
# the one place of the core's `cdef extern from "<header>"` blocks, cimported where used.

cdef extern from "version.h":
    int REDISAI_MODULE_VERSION
    int REDISAI_VERSION_MAJOR
    int REDISAI_VERSION_MINOR
    int REDISAI_VERSION_PATCH

# The build's git commit (setup.py defines it) and the LLAPI's version, which the LLAPI reports
# (llapi/export.pyx) and INFO shows.
cdef extern from *:
    """
    #ifndef REDISAI_GIT_SHA
    #define REDISAI_GIT_SHA "unknown"
    #endif
    #define RAI_LLAPI_VERSION 1
    """
    const char *REDISAI_GIT_SHA
    int RAI_LLAPI_VERSION

cdef extern from "<dlfcn.h>" nogil:
    ctypedef struct Dl_info:
        const char *dli_fname
    int dladdr(const void *addr, Dl_info *info)

cdef extern from "<ctype.h>" nogil:
    int toupper(int c)
    int tolower(int c)

cdef extern from "<string.h>" nogil:
    size_t strnlen(const char *s, size_t maxlen)

cdef extern from "<errno.h>":
    int ENOTSUP

cdef extern from "<sys/resource.h>" nogil:
    int RUSAGE_THREAD
