# Python objects whose last C owner went away in a nogil context (a type's free callback, maybe
# in Redis's lazy-free thread) are parked here and released by the next thread that holds the
# GIL anyway. Taking the GIL in free could deadlock (docs/EMBEDDING.md, fork safety).
from cpython.ref cimport PyObject, Py_DECREF
from redisai_module.pthreads cimport *
from redisai_module.redis_api cimport RedisModule_Alloc, RedisModule_Free

ctypedef struct ParkedObject:
    ParkedObject *next
    void *obj

cdef extern from *:
    """
    #include <pthread.h>
    static pthread_mutex_t rai_parked_lock = PTHREAD_MUTEX_INITIALIZER;
    """
    pthread_mutex_t _parked_lock "rai_parked_lock"

cdef ParkedObject *_parked = NULL


cdef void release_later(void *obj) noexcept nogil:
    global _parked
    if obj == NULL:
        return
    cdef ParkedObject *p = <ParkedObject *>RedisModule_Alloc(sizeof(ParkedObject))
    p.obj = obj
    pthread_mutex_lock(&_parked_lock)
    p.next = _parked
    _parked = p
    pthread_mutex_unlock(&_parked_lock)


cdef bint parked_pending() noexcept nogil:
    """Whether anything waits to be released: a hint, read without the lock."""
    return _parked != NULL


cdef void release_parked() noexcept:
    """Drop the parked objects; the caller holds the GIL."""
    global _parked
    cdef ParkedObject *p
    cdef ParkedObject *next
    with nogil:
        pthread_mutex_lock(&_parked_lock)
        p = _parked
        _parked = NULL
        pthread_mutex_unlock(&_parked_lock)
    while p != NULL:
        next = p.next
        Py_DECREF(<object><PyObject *>p.obj)
        RedisModule_Free(p)
        p = next
