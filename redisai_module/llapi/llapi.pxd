# The llapi room's doors are for other modules, not for the rooms of this one: RAI_LLAPI_Export
# (export.pyx, called by the C shim at load) hands them to Redis under their RedisAI names, and
# src/redisai.h declares them. No room calls into the LLAPI: runs and DAGs it queues call it back
# through the `done` fields of Run and Dag (execution/run.pxd).
