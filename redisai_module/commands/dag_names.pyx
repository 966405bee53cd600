# DAG-local tensor names (docs/COMMANDS.md §7.1 step 6): a fixed-size open-addressing table from a
# name (borrowed from argv, valid while the command is parsed) to its current slot, so a DAG
# with many names parses in linear time without the GIL.
from libc.stdint cimport uint64_t
from libc.string cimport memcmp, memset
from redisai_module.redis_api cimport *

cdef void dag_names_init(DagNames *t, size_t capacity) noexcept nogil:
    """Room for `capacity` distinct names (the table never grows)."""
    cdef size_t size = 8
    while size < 2 * capacity + 2:
        size *= 2
    t.entries = <DagName *>RedisModule_Alloc(size * sizeof(DagName))
    memset(t.entries, 0, size * sizeof(DagName))
    t.mask = size - 1


cdef void dag_names_free(DagNames *t) noexcept nogil:
    RedisModule_Free(t.entries)
    t.entries = NULL


cdef DagName *dag_name_entry(DagNames *t, RedisModuleString *name) noexcept nogil:
    """The entry holding `name`, or the free entry where it belongs."""
    cdef size_t n, i
    cdef const char *s = RedisModule_StringPtrLen(name, &n)
    cdef uint64_t h = 14695981039346656037ULL  # FNV-1a
    for i in range(n):
        h = (h ^ <unsigned char>s[i]) * 1099511628211ULL
    cdef size_t at = h & t.mask
    cdef DagName *e
    while True:
        e = &t.entries[at]
        if e.name == NULL or (e.length == n and memcmp(e.name, s, n) == 0):
            return e
        at = (at + 1) & t.mask


cdef bint dag_name_lookup(DagNames *t, RedisModuleString *name, size_t *slot) noexcept nogil:
    cdef DagName *e = dag_name_entry(t, name)
    if e.name == NULL:
        return False
    slot[0] = e.slot
    return True


cdef void dag_name_bind(DagNames *t, RedisModuleString *name, size_t slot) noexcept nogil:
    """Point `name` at `slot` (a later producer of a name replaces the earlier one)."""
    cdef DagName *e = dag_name_entry(t, name)
    if e.name == NULL:
        e.name = RedisModule_StringPtrLen(name, &e.length)
    e.slot = slot
