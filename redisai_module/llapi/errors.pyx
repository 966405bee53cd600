# RAI_Error (docs/CONFIG.md §6.1): a code and a message, created by the calling module with
# RedisAI_InitError and filled by the functions it passes it to.
from libc.string cimport memset, strlen
from redisai_module.redis_api cimport *

cdef enum:  # RAI_ErrorCode, in RedisAI's order
    RAI_OK = 0
    RAI_EMODELIMPORT
    RAI_EMODELCONFIGURE
    RAI_EMODELCREATE
    RAI_EMODELRUN
    RAI_EMODELSERIALIZE
    RAI_EMODELFREE
    RAI_ESCRIPTIMPORT
    RAI_ESCRIPTCONFIGURE
    RAI_ESCRIPTCREATE
    RAI_ESCRIPTRUN
    RAI_EUNSUPPORTEDBACKEND
    RAI_EBACKENDNOTLOADED
    RAI_ESCRIPTFREE
    RAI_ETENSORSET
    RAI_ETENSORGET
    RAI_EDAGBUILDER
    RAI_EDAGRUN
    RAI_EFINISHCTX
    RAI_EKEYEMPTY

ctypedef struct RaiError:
    int code
    char *detail          # NULL while the code is RAI_OK
    char *detail_oneline  # the same text with CR and LF turned into spaces


cdef int llapi_init_error(RaiError **err) noexcept nogil:
    err[0] = <RaiError *>RedisModule_Alloc(sizeof(RaiError))
    memset(err[0], 0, sizeof(RaiError))
    return REDISMODULE_OK


cdef void llapi_clear_error(RaiError *err) noexcept nogil:
    if err == NULL:
        return
    RedisModule_Free(err.detail)  # zfree(NULL) is a no-op
    RedisModule_Free(err.detail_oneline)
    memset(err, 0, sizeof(RaiError))


cdef void llapi_free_error(RaiError *err) noexcept nogil:
    llapi_clear_error(err)
    RedisModule_Free(err)


cdef void llapi_set_error(RaiError *err, int code, const char *message) noexcept nogil:
    """Set `err` (which may be NULL: the caller did not ask) to code and message."""
    if err == NULL:
        return
    llapi_clear_error(err)
    cdef size_t n = strlen(message), k
    err.code = code
    err.detail = copy_cstring(message, n)
    err.detail_oneline = copy_cstring(message, n)
    for k in range(n):
        if err.detail_oneline[k] == b'\r' or err.detail_oneline[k] == b'\n':
            err.detail_oneline[k] = b' '


cdef const char *llapi_get_error(RaiError *err) noexcept nogil:
    return err.detail


cdef const char *llapi_get_error_one_line(RaiError *err) noexcept nogil:
    return err.detail_oneline


cdef int llapi_get_error_code(RaiError *err) noexcept nogil:
    return err.code


cdef void llapi_clone_error(RaiError *dest, const RaiError *src) noexcept nogil:
    """RedisAI asks for an empty destination; a filled one is cleared first rather than leaked."""
    if src.detail == NULL:
        llapi_clear_error(dest)
        return
    llapi_set_error(dest, src.code, src.detail)
