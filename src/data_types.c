/* The module data types, registered with RedisAI 1.2's names and encoding versions so that
 * RDB files and DUMP payloads interchange with RedisAI (docs/PERSISTENCE.md §1). The callbacks are
 * Cython (redisai_module/types/); see there which of them may touch Python. */
#include "data_types.h"
#include "encoding_version.h"
#include "redisai_core.h"

/* The callbacks all four types have, RAI_<Kind>Type_<Callback> in redisai_module/types/. */
#define TYPE_METHODS(Kind)                           \
    .version = REDISMODULE_TYPE_METHOD_VERSION,      \
    .rdb_load = RAI_##Kind##Type_RdbLoad,            \
    .rdb_save = RAI_##Kind##Type_RdbSave,            \
    .aof_rewrite = RAI_##Kind##Type_AofRewrite,      \
    .mem_usage = RAI_##Kind##Type_MemUsage,          \
    .free = RAI_##Kind##Type_Free

static RedisModuleType *create_type(RedisModuleCtx *ctx, const char *name, RedisModuleTypeMethods *methods) {
    RedisModuleType *type = RedisModule_CreateDataType(ctx, name, RAI_ENCODING_VERSION, methods);
    if (!type)
        RedisModule_Log(ctx, "warning", "could not create the %s type", name);
    return type;
}

int RAI_RegisterDataTypes(RedisModuleCtx *ctx) {
    RedisModuleTypeMethods tensor = {TYPE_METHODS(Tensor), .copy = RAI_TensorType_Copy};  /* immutable: COPY shares */
    RedisModuleTypeMethods model = {TYPE_METHODS(Model)};
    RedisModuleTypeMethods script = {TYPE_METHODS(Script)};
    RedisModuleTypeMethods pipeline = {TYPE_METHODS(Pipeline)};  /* ours: docs/COMMANDS.md §7.6 */
    RAI_TensorType = create_type(ctx, "AI_TENSOR", &tensor);
    RAI_ModelType = create_type(ctx, "AI__MODEL", &model);
    RAI_ScriptType = create_type(ctx, "AI_SCRIPT", &script);
    RAI_PipelineType = create_type(ctx, "AI_PIPELN", &pipeline);
    return RAI_TensorType && RAI_ModelType && RAI_ScriptType && RAI_PipelineType ? REDISMODULE_OK : REDISMODULE_ERR;
}
