# The backends, one row each: every fact the core switches on about a backend lives here, so
# adding a backend is adding a row (and its adapter). Rows sit at their code, RedisAI's numbering
# (model.pxd), which LLAPI callers pass and RDB files store. Static C data: read without the GIL,
# by the load-time arguments before Python starts, and in the BGSAVE child. The rows are in
# backend_table.pxi, which objects.pxd includes: other rooms read them.
cdef const Backend *backend_of(int code) noexcept nogil:
    """The row of a backend code; NULL for a code no backend has (an LLAPI caller's, an RDB's)."""
    if code < 0 or code >= N_BACKENDS:
        return NULL
    return &backend_table[code]


cdef const char *backend_name(int code) noexcept nogil:
    cdef const Backend *row = backend_of(code)
    return row.name if row != NULL else NULL
