/* The module data types, registered with RedisAI 1.2's names and encoding versions so that
 * RDB files and DUMP payloads interchange with RedisAI (PERSISTENCE.md §1). The callbacks are
 * Cython (redisai_module/types/); see there which of them may touch Python. */
#include "data_types.h"
#include "encoding_version.h"
#include "redisai_core.h"

static RedisModuleType *create_type(RedisModuleCtx *ctx, const char *name, RedisModuleTypeMethods *methods) {
    methods->version = REDISMODULE_TYPE_METHOD_VERSION;
    RedisModuleType *type = RedisModule_CreateDataType(ctx, name, RAI_ENCODING_VERSION, methods);
    if (!type)
        RedisModule_Log(ctx, "warning", "could not create the %s type", name);
    return type;
}

int RAI_RegisterDataTypes(RedisModuleCtx *ctx) {
    RedisModuleTypeMethods tensor = {
        .rdb_load = RAI_TensorType_RdbLoad,
        .rdb_save = RAI_TensorType_RdbSave,
        .aof_rewrite = RAI_TensorType_AofRewrite,
        .mem_usage = RAI_TensorType_MemUsage,
        .free = RAI_TensorType_Free,
        .copy = RAI_TensorType_Copy,  /* tensors are immutable: COPY shares them */
    };
    RedisModuleTypeMethods model = {
        .rdb_load = RAI_ModelType_RdbLoad,
        .rdb_save = RAI_ModelType_RdbSave,
        .aof_rewrite = RAI_ModelType_AofRewrite,
        .mem_usage = RAI_ModelType_MemUsage,
        .free = RAI_ModelType_Free,
    };
    RedisModuleTypeMethods script = {
        .rdb_load = RAI_ScriptType_RdbLoad,
        .rdb_save = RAI_ScriptType_RdbSave,
        .aof_rewrite = RAI_ScriptType_AofRewrite,
        .mem_usage = RAI_ScriptType_MemUsage,
        .free = RAI_ScriptType_Free,
    };
    RAI_TensorType = create_type(ctx, "AI_TENSOR", &tensor);
    RAI_ModelType = create_type(ctx, "AI__MODEL", &model);
    RAI_ScriptType = create_type(ctx, "AI_SCRIPT", &script);
    return RAI_TensorType && RAI_ModelType && RAI_ScriptType ? REDISMODULE_OK : REDISMODULE_ERR;
}
