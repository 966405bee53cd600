# Errors as values (errors.pxi declares ErrorValue and error_set): the one way to fill one with a
# table entry that takes a token from the command line.
from libc.stdio cimport snprintf
from redisai_module.redis_api cimport *


cdef int error_set_token(ErrorValue *e, int code, RedisModuleString *token, int max_token) noexcept nogil:
    """`e` is the entry `code` with the token (cut at `max_token` bytes) in its one `%.*s`; -1."""
    cdef size_t n
    cdef const char *s = RedisModule_StringPtrLen(token, &n)
    return error_set_text(e, code, s, n if n < <size_t>max_token else <size_t>max_token)


cdef int error_set_text(ErrorValue *e, int code, const char *s, size_t n) noexcept nogil:
    """`e` is the entry `code` with `n` bytes of `s` in its one `%.*s` (cut to fit); -1."""
    e.code = code
    snprintf(e.text, sizeof(e.text), rai_error_texts[code], <int>n, s)
    return -1
