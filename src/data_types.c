/* The module data types, registered with RedisAI 1.2's names and encoding versions so that
 * RDB files and DUMP payloads interchange with RedisAI (PERSISTENCE.md §1). The callbacks are
 * Cython (redisai_module/types/), all nogil. */
#include "data_types.h"
#include "redisai_core.h"

#define RAI_ENCODING_VERSION 4

int RAI_RegisterDataTypes(RedisModuleCtx *ctx) {
    RedisModuleTypeMethods tensor_methods = {
        .version = REDISMODULE_TYPE_METHOD_VERSION,
        .rdb_load = RAI_TensorType_RdbLoad,
        .rdb_save = RAI_TensorType_RdbSave,
        .aof_rewrite = RAI_TensorType_AofRewrite,
        .mem_usage = RAI_TensorType_MemUsage,
        .free = RAI_TensorType_Free,
        .copy = RAI_TensorType_Copy,
    };
    RAI_TensorType = RedisModule_CreateDataType(ctx, "AI_TENSOR", RAI_ENCODING_VERSION, &tensor_methods);
    if (!RAI_TensorType) {
        RedisModule_Log(ctx, "warning", "could not create the AI_TENSOR type");
        return REDISMODULE_ERR;
    }
    RedisModuleTypeMethods model_methods = {
        .version = REDISMODULE_TYPE_METHOD_VERSION,
        .rdb_load = RAI_ModelType_RdbLoad,
        .rdb_save = RAI_ModelType_RdbSave,
        .aof_rewrite = RAI_ModelType_AofRewrite,
        .mem_usage = RAI_ModelType_MemUsage,
        .free = RAI_ModelType_Free,
    };
    RAI_ModelType = RedisModule_CreateDataType(ctx, "AI__MODEL", RAI_ENCODING_VERSION, &model_methods);
    if (!RAI_ModelType) {
        RedisModule_Log(ctx, "warning", "could not create the AI__MODEL type");
        return REDISMODULE_ERR;
    }
    RedisModuleTypeMethods script_methods = {
        .version = REDISMODULE_TYPE_METHOD_VERSION,
        .rdb_load = RAI_ScriptType_RdbLoad,
        .rdb_save = RAI_ScriptType_RdbSave,
        .aof_rewrite = RAI_ScriptType_AofRewrite,
        .mem_usage = RAI_ScriptType_MemUsage,
        .free = RAI_ScriptType_Free,
    };
    RAI_ScriptType = RedisModule_CreateDataType(ctx, "AI_SCRIPT", RAI_ENCODING_VERSION, &script_methods);
    if (!RAI_ScriptType) {
        RedisModule_Log(ctx, "warning", "could not create the AI_SCRIPT type");
        return REDISMODULE_ERR;
    }
    return REDISMODULE_OK;
}
