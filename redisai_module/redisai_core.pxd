# The doors of the rooms (README, "How it is built"): each room's .pxd declares what the other
# rooms may use; Cython pairs this file with redisai_core.pyx, so every cdef function declared
# here must be defined with the same signature in the file that redisai_core.pyx includes for it.
# tests/test_rooms.py checks that calls between rooms go through these doors, one way only.
# The C headers the rooms share are the top-level .pxd files (redis_api, dlpack, pthreads,
# onnx_allocator), cimported where used.

include "base.pxd"
include "objects/objects.pxd"
include "backends/backends.pxd"
include "execution/execution.pxd"
include "serialization/serialization.pxd"
include "commands/commands.pxd"
include "llapi/llapi.pxd"
