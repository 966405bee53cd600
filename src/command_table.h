#ifndef RAI_COMMAND_TABLE_H
#define RAI_COMMAND_TABLE_H

#include "redismodule.h"

/* Registers every AI.* command (and AI._DEBUG when enabled). */
int RAI_RegisterCommands(RedisModuleCtx *ctx);

#endif
