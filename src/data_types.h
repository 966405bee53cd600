#ifndef RAI_DATA_TYPES_H
#define RAI_DATA_TYPES_H

#include "redismodule.h"

/* Creates AI_TENSOR, AI__MODEL, AI_SCRIPT and AI_PIPELN with their type callbacks. */
int RAI_RegisterDataTypes(RedisModuleCtx *ctx);

#endif
