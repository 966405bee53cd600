# The base room's C string primitive: every room copies names and texts into Redis memory.
from libc.string cimport memcpy
from redisai_module.redis_api cimport RedisModule_Alloc


cdef char *copy_cstring(const char *s, size_t n) noexcept nogil:
    """A NUL-terminated copy of n bytes, in Redis memory."""
    cdef char *out = <char *>RedisModule_Alloc(n + 1)
    memcpy(out, s, n)
    out[n] = 0
    return out
