# The LLAPI's table: every function under its RedisAI name (docs/CONFIG.md §6), exported at load
# for RedisModule_GetSharedAPI. src/redisai.h declares the same 75 names for calling modules.
from redisai_module.redis_api cimport *
from redisai_module.system cimport RAI_LLAPI_VERSION


cdef int llapi_version() noexcept nogil:
    return RAI_LLAPI_VERSION  # INFO reports the same number (server_info.pyx)


cdef bint llapi_export(RedisModuleCtx *ctx, const char *name, void *function) noexcept nogil:
    if RedisModule_ExportSharedAPI(ctx, name, function) != REDISMODULE_OK:
        RedisModule_Log(ctx, "warning", "could not export %s", name)
        return False
    return True


cdef public int RAI_LLAPI_Export(RedisModuleCtx *ctx) noexcept nogil:
    """Every name, or the load fails; a server without the shared-API facility gets none."""
    if <void *>RedisModule_ExportSharedAPI == NULL:
        RedisModule_Log(ctx, "warning", "this Redis cannot share module APIs: the RedisAI LLAPI is not exported")
        return REDISMODULE_OK
    return REDISMODULE_OK if (
                llapi_export(ctx, "RedisAI_GetLLAPIVersion", <void *>llapi_version)
            and llapi_export(ctx, "RedisAI_InitError", <void *>llapi_init_error)
            and llapi_export(ctx, "RedisAI_ClearError", <void *>llapi_clear_error)
            and llapi_export(ctx, "RedisAI_FreeError", <void *>llapi_free_error)
            and llapi_export(ctx, "RedisAI_GetError", <void *>llapi_get_error)
            and llapi_export(ctx, "RedisAI_GetErrorOneLine", <void *>llapi_get_error_one_line)
            and llapi_export(ctx, "RedisAI_GetErrorCode", <void *>llapi_get_error_code)
            and llapi_export(ctx, "RedisAI_CloneError", <void *>llapi_clone_error)
            and llapi_export(ctx, "RedisAI_TensorCreate", <void *>llapi_tensor_create)
            and llapi_export(ctx, "RedisAI_TensorCreateByConcatenatingTensors", <void *>llapi_tensor_concat)
            and llapi_export(ctx, "RedisAI_TensorCreateBySlicingTensor", <void *>llapi_tensor_slice)
            and llapi_export(ctx, "RedisAI_TensorLength", <void *>llapi_tensor_length)
            and llapi_export(ctx, "RedisAI_TensorDataSize", <void *>llapi_tensor_data_size)
            and llapi_export(ctx, "RedisAI_TensorFree", <void *>llapi_tensor_free)
            and llapi_export(ctx, "RedisAI_TensorSetData", <void *>llapi_tensor_set_data)
            and llapi_export(ctx, "RedisAI_TensorSetValueFromLongLong", <void *>llapi_tensor_set_long_long)
            and llapi_export(ctx, "RedisAI_TensorSetValueFromDouble", <void *>llapi_tensor_set_double)
            and llapi_export(ctx, "RedisAI_TensorGetValueAsDouble", <void *>llapi_tensor_get_double)
            and llapi_export(ctx, "RedisAI_TensorGetValueAsLongLong", <void *>llapi_tensor_get_long_long)
            and llapi_export(ctx, "RedisAI_TensorGetShallowCopy", <void *>llapi_tensor_shallow_copy)
            and llapi_export(ctx, "RedisAI_TensorNumDims", <void *>llapi_tensor_num_dims)
            and llapi_export(ctx, "RedisAI_TensorDim", <void *>llapi_tensor_dim)
            and llapi_export(ctx, "RedisAI_TensorByteSize", <void *>llapi_tensor_byte_size)
            and llapi_export(ctx, "RedisAI_TensorData", <void *>llapi_tensor_data)
            and llapi_export(ctx, "RedisAI_TensorRedisType", <void *>llapi_tensor_type)
            and llapi_export(ctx, "RedisAI_ModelCreate", <void *>llapi_model_create)
            and llapi_export(ctx, "RedisAI_ModelFree", <void *>llapi_model_free)
            and llapi_export(ctx, "RedisAI_ModelRunCtxCreate", <void *>llapi_model_run_ctx_create)
            and llapi_export(ctx, "RedisAI_GetModelFromKeyspace", <void *>llapi_get_model_from_keyspace)
            and llapi_export(ctx, "RedisAI_ModelRunCtxAddInput", <void *>llapi_model_run_add_input)
            and llapi_export(ctx, "RedisAI_ModelRunCtxAddOutput", <void *>llapi_model_run_add_output)
            and llapi_export(ctx, "RedisAI_ModelRunCtxNumOutputs", <void *>llapi_run_num_outputs)
            and llapi_export(ctx, "RedisAI_ModelRunCtxOutputTensor", <void *>llapi_run_output)
            and llapi_export(ctx, "RedisAI_ModelRunCtxFree", <void *>llapi_run_free)
            and llapi_export(ctx, "RedisAI_ModelRun", <void *>llapi_model_run)
            and llapi_export(ctx, "RedisAI_ModelSerialize", <void *>llapi_model_serialize)
            and llapi_export(ctx, "RedisAI_ModelGetShallowCopy", <void *>llapi_model_shallow_copy)
            and llapi_export(ctx, "RedisAI_ModelRedisType", <void *>llapi_model_type)
            and llapi_export(ctx, "RedisAI_ModelRunAsync", <void *>llapi_model_run_async)
            and llapi_export(ctx, "RedisAI_GetAsModelRunCtx", <void *>llapi_get_as_model_run)
            and llapi_export(ctx, "RedisAI_ScriptCreate", <void *>llapi_script_create)
            and llapi_export(ctx, "RedisAI_GetScriptFromKeyspace", <void *>llapi_get_script_from_keyspace)
            and llapi_export(ctx, "RedisAI_ScriptFree", <void *>llapi_script_free)
            and llapi_export(ctx, "RedisAI_ScriptRunCtxCreate", <void *>llapi_script_run_ctx_create)
            and llapi_export(ctx, "RedisAI_ScriptRunCtxAddInput", <void *>llapi_script_add_input)
            and llapi_export(ctx, "RedisAI_ScriptRunCtxAddTensorInput", <void *>llapi_script_add_tensor_input)
            and llapi_export(ctx, "RedisAI_ScriptRunCtxAddInputList", <void *>llapi_script_add_input_list)
            and llapi_export(ctx, "RedisAI_ScriptRunCtxAddTensorInputList", <void *>llapi_script_add_tensor_input_list)
            and llapi_export(ctx, "RedisAI_ScriptRunCtxAddOutput", <void *>llapi_script_add_output)
            and llapi_export(ctx, "RedisAI_ScriptRunCtxNumOutputs", <void *>llapi_run_num_outputs)
            and llapi_export(ctx, "RedisAI_ScriptRunCtxOutputTensor", <void *>llapi_run_output)
            and llapi_export(ctx, "RedisAI_ScriptRunCtxFree", <void *>llapi_run_free)
            and llapi_export(ctx, "RedisAI_ScriptRun", <void *>llapi_script_run)
            and llapi_export(ctx, "RedisAI_ScriptGetShallowCopy", <void *>llapi_script_shallow_copy)
            and llapi_export(ctx, "RedisAI_ScriptRedisType", <void *>llapi_script_type)
            and llapi_export(ctx, "RedisAI_ScriptRunAsync", <void *>llapi_script_run_async)
            and llapi_export(ctx, "RedisAI_GetAsScriptRunCtx", <void *>llapi_get_as_script_run)
            and llapi_export(ctx, "RedisAI_DAGRunCtxCreate", <void *>llapi_dag_create)
            and llapi_export(ctx, "RedisAI_DAGCreateModelRunOp", <void *>llapi_dag_model_op)
            and llapi_export(ctx, "RedisAI_DAGCreateScriptRunOp", <void *>llapi_dag_script_op)
            and llapi_export(ctx, "RedisAI_DAGRunOpAddInput", <void *>llapi_dag_op_add_input)
            and llapi_export(ctx, "RedisAI_DAGRunOpAddOutput", <void *>llapi_dag_op_add_output)
            and llapi_export(ctx, "RedisAI_DAGAddRunOp", <void *>llapi_dag_add_run_op)
            and llapi_export(ctx, "RedisAI_DAGLoadTensor", <void *>llapi_dag_load_tensor)
            and llapi_export(ctx, "RedisAI_DAGAddTensorSet", <void *>llapi_dag_add_tensor_set)
            and llapi_export(ctx, "RedisAI_DAGAddTensorGet", <void *>llapi_dag_add_tensor_get)
            and llapi_export(ctx, "RedisAI_DAGAddOpsFromString", <void *>llapi_dag_add_ops_from_string)
            and llapi_export(ctx, "RedisAI_DAGNumOps", <void *>llapi_dag_num_ops)
            and llapi_export(ctx, "RedisAI_DAGRun", <void *>llapi_dag_run)
            and llapi_export(ctx, "RedisAI_DAGNumOutputs", <void *>llapi_dag_num_outputs)
            and llapi_export(ctx, "RedisAI_DAGOutputTensor", <void *>llapi_dag_output_tensor)
            and llapi_export(ctx, "RedisAI_DAGRunError", <void *>llapi_dag_run_error)
            and llapi_export(ctx, "RedisAI_DAGGetError", <void *>llapi_dag_get_error)
            and llapi_export(ctx, "RedisAI_DAGRunOpFree", <void *>llapi_dag_op_free)
            and llapi_export(ctx, "RedisAI_DAGFree", <void *>llapi_dag_free)) else REDISMODULE_ERR
