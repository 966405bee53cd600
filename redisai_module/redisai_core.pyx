# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# The one Cython compilation unit of the module, assembled from the files below (as uvloop
# does): one C file, linked with the C shim into install/redisai.so. Read it as the map.

include "errors.pxi"
include "config.pyx"

# objects: what is stored in keys
include "objects/dtypes.pyx"
include "objects/tensor.pyx"
include "objects/tensor_dlpack.pyx"

# serialization: one frozen decoder per shipped encoding, and the current codec
include "serialization/tensor_load.pyx"
include "serialization/tensor_v0.pyx"
include "serialization/tensor_v4.pyx"

# types: the Redis module type callbacks (nogil only)
include "types/tensor_type.pyx"

# commands: argument parsing and replies
include "commands/keys.pyx"
include "commands/tensor_args.pyx"
include "commands/tensor_reply.pyx"
include "commands/tensorset.pyx"
include "commands/tensorget.pyx"
include "debug.pyx"
