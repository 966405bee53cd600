/* The low-level API (LLAPI) this module exports to other Redis modules (docs/CONFIG.md §6).
 *
 * A module that wants it includes this header, calls RedisAI_Initialize(ctx) once its
 * RedisModule_Init succeeded and our module is loaded (from OnLoad if loaded after us, or later),
 * and checks RedisAI_GetLLAPIVersion() >= 1. Every function is exported under "RedisAI_<Name>"
 * through RedisModule_ExportSharedAPI; the names, signatures and semantics are RedisAI 1.2's, so
 * modules written against RedisAI keep working.
 *
 * Threads: functions that touch the keyspace (RedisAI_GetModelFromKeyspace, ...FromKeyspace,
 * RedisAI_DAGAddOpsFromString) need Redis's lock, as any keyspace access does. The callbacks of
 * RedisAI_ModelRunAsync, RedisAI_ScriptRunAsync and RedisAI_DAGRun run on a RedisAI worker
 * thread, without Redis's lock (take it with a thread-safe context, or unblock a client). */
#ifndef REDISAI_LLAPI_H
#define REDISAI_LLAPI_H

#include <stddef.h>
#include "redismodule.h"

#define REDISAI_LLAPI_VERSION 1

typedef struct RAI_Tensor RAI_Tensor;
typedef struct RAI_Model RAI_Model;
typedef struct RAI_Script RAI_Script;
typedef struct RAI_ModelRunCtx RAI_ModelRunCtx;
typedef struct RAI_ScriptRunCtx RAI_ScriptRunCtx;
typedef struct RAI_DAGRunCtx RAI_DAGRunCtx;
typedef struct RAI_DAGRunOp RAI_DAGRunOp;
typedef struct RAI_Error RAI_Error;
typedef struct RAI_OnFinishCtx RAI_OnFinishCtx;

typedef void (*RAI_OnFinishCB)(RAI_OnFinishCtx *ctx, void *private_data);

typedef enum {
    RAI_OK = 0,
    RAI_EMODELIMPORT,
    RAI_EMODELCONFIGURE,
    RAI_EMODELCREATE,
    RAI_EMODELRUN,
    RAI_EMODELSERIALIZE,
    RAI_EMODELFREE,
    RAI_ESCRIPTIMPORT,
    RAI_ESCRIPTCONFIGURE,
    RAI_ESCRIPTCREATE,
    RAI_ESCRIPTRUN,
    RAI_EUNSUPPORTEDBACKEND,
    RAI_EBACKENDNOTLOADED,
    RAI_ESCRIPTFREE,
    RAI_ETENSORSET,
    RAI_ETENSORGET,
    RAI_EDAGBUILDER,
    RAI_EDAGRUN,
    RAI_EFINISHCTX,
    RAI_EKEYEMPTY
} RAI_ErrorCode;

#define RAI_BACKEND_TENSORFLOW 0
#define RAI_BACKEND_TFLITE 1
#define RAI_BACKEND_TORCH 2
#define RAI_BACKEND_ONNXRUNTIME 3

#define RAI_DEVICE_CPU 0
#define RAI_DEVICE_GPU 1

/* Passed by value to RedisAI_ModelCreate. */
typedef struct RAI_ModelOpts {
    size_t batchsize;
    size_t minbatchsize;
    size_t minbatchtimeout;
    long long backends_intra_op_parallelism;
    long long backends_inter_op_parallelism;
} RAI_ModelOpts;

#ifndef REDISAI_API
#define REDISAI_API extern
#endif
#define REDISAI_FUNC(name) (*RedisAI_##name)

/* 6.1 Version and errors */
REDISAI_API int REDISAI_FUNC(GetLLAPIVersion)(void);
REDISAI_API int REDISAI_FUNC(InitError)(RAI_Error **err);
REDISAI_API void REDISAI_FUNC(ClearError)(RAI_Error *err);
REDISAI_API void REDISAI_FUNC(FreeError)(RAI_Error *err);
REDISAI_API const char *REDISAI_FUNC(GetError)(RAI_Error *err);
REDISAI_API const char *REDISAI_FUNC(GetErrorOneLine)(RAI_Error *err);
REDISAI_API RAI_ErrorCode REDISAI_FUNC(GetErrorCode)(RAI_Error *err);
REDISAI_API void REDISAI_FUNC(CloneError)(RAI_Error *dest, const RAI_Error *src);

/* 6.2 Tensors */
REDISAI_API RAI_Tensor *REDISAI_FUNC(TensorCreate)(const char *dataType, long long *dims, int ndims);
REDISAI_API RAI_Tensor *REDISAI_FUNC(TensorCreateByConcatenatingTensors)(RAI_Tensor **ts, long long n);
REDISAI_API RAI_Tensor *REDISAI_FUNC(TensorCreateBySlicingTensor)(RAI_Tensor *t, long long offset, long long len);
REDISAI_API size_t REDISAI_FUNC(TensorLength)(RAI_Tensor *t);
REDISAI_API size_t REDISAI_FUNC(TensorDataSize)(RAI_Tensor *t);
REDISAI_API void REDISAI_FUNC(TensorFree)(RAI_Tensor *t);
REDISAI_API int REDISAI_FUNC(TensorSetData)(RAI_Tensor *t, const char *data, size_t len);
REDISAI_API int REDISAI_FUNC(TensorSetValueFromLongLong)(RAI_Tensor *t, long long i, long long val);
REDISAI_API int REDISAI_FUNC(TensorSetValueFromDouble)(RAI_Tensor *t, long long i, double val);
REDISAI_API int REDISAI_FUNC(TensorGetValueAsDouble)(RAI_Tensor *t, long long i, double *val);
REDISAI_API int REDISAI_FUNC(TensorGetValueAsLongLong)(RAI_Tensor *t, long long i, long long *val);
REDISAI_API RAI_Tensor *REDISAI_FUNC(TensorGetShallowCopy)(RAI_Tensor *t);
REDISAI_API int REDISAI_FUNC(TensorNumDims)(RAI_Tensor *t);
REDISAI_API long long REDISAI_FUNC(TensorDim)(RAI_Tensor *t, int dim);
REDISAI_API size_t REDISAI_FUNC(TensorByteSize)(RAI_Tensor *t);
REDISAI_API char *REDISAI_FUNC(TensorData)(RAI_Tensor *t);
REDISAI_API RedisModuleType *REDISAI_FUNC(TensorRedisType)(void);

/* 6.3 Models. `tag` is a RedisModuleString* (or NULL), as RedisAI's implementation takes it. */
REDISAI_API RAI_Model *REDISAI_FUNC(ModelCreate)(int backend, char *devicestr, RedisModuleString *tag,
                                                 RAI_ModelOpts opts, size_t ninputs, const char **inputs,
                                                 size_t noutputs, const char **outputs,
                                                 const char *modeldef, size_t modellen, RAI_Error *err);
REDISAI_API void REDISAI_FUNC(ModelFree)(RAI_Model *model, RAI_Error *err);
REDISAI_API RAI_ModelRunCtx *REDISAI_FUNC(ModelRunCtxCreate)(RAI_Model *model);
REDISAI_API int REDISAI_FUNC(GetModelFromKeyspace)(RedisModuleCtx *ctx, RedisModuleString *keyName,
                                                   RAI_Model **model, int mode, RAI_Error *err);
REDISAI_API int REDISAI_FUNC(ModelRunCtxAddInput)(RAI_ModelRunCtx *mctx, const char *inputName, RAI_Tensor *t);
REDISAI_API int REDISAI_FUNC(ModelRunCtxAddOutput)(RAI_ModelRunCtx *mctx, const char *outputName);
REDISAI_API size_t REDISAI_FUNC(ModelRunCtxNumOutputs)(RAI_ModelRunCtx *mctx);
REDISAI_API RAI_Tensor *REDISAI_FUNC(ModelRunCtxOutputTensor)(RAI_ModelRunCtx *mctx, size_t index);
REDISAI_API void REDISAI_FUNC(ModelRunCtxFree)(RAI_ModelRunCtx *mctx);
REDISAI_API int REDISAI_FUNC(ModelRun)(RAI_ModelRunCtx **mctxs, long long n, RAI_Error *err);
REDISAI_API int REDISAI_FUNC(ModelSerialize)(RAI_Model *model, char **buffer, size_t *len, RAI_Error *err);
REDISAI_API RAI_Model *REDISAI_FUNC(ModelGetShallowCopy)(RAI_Model *model);
REDISAI_API RedisModuleType *REDISAI_FUNC(ModelRedisType)(void);
REDISAI_API int REDISAI_FUNC(ModelRunAsync)(RAI_ModelRunCtx *mctx, RAI_OnFinishCB callback, void *private_data);
REDISAI_API RAI_ModelRunCtx *REDISAI_FUNC(GetAsModelRunCtx)(RAI_OnFinishCtx *ctx, RAI_Error *err);

/* 6.4 Scripts */
REDISAI_API RAI_Script *REDISAI_FUNC(ScriptCreate)(char *devicestr, RedisModuleString *tag,
                                                   const char *scriptdef, RAI_Error *err);
REDISAI_API int REDISAI_FUNC(GetScriptFromKeyspace)(RedisModuleCtx *ctx, RedisModuleString *keyName,
                                                    RAI_Script **script, int mode, RAI_Error *err);
REDISAI_API void REDISAI_FUNC(ScriptFree)(RAI_Script *script, RAI_Error *err);
REDISAI_API RAI_ScriptRunCtx *REDISAI_FUNC(ScriptRunCtxCreate)(RAI_Script *script, const char *fnname);
REDISAI_API int REDISAI_FUNC(ScriptRunCtxAddInput)(RAI_ScriptRunCtx *sctx, RAI_Tensor *t, RAI_Error *err);
REDISAI_API int REDISAI_FUNC(ScriptRunCtxAddTensorInput)(RAI_ScriptRunCtx *sctx, RAI_Tensor *t);
REDISAI_API int REDISAI_FUNC(ScriptRunCtxAddInputList)(RAI_ScriptRunCtx *sctx, RAI_Tensor **ts, size_t len,
                                                       RAI_Error *err);
REDISAI_API int REDISAI_FUNC(ScriptRunCtxAddTensorInputList)(RAI_ScriptRunCtx *sctx, RAI_Tensor **ts, size_t len);
REDISAI_API int REDISAI_FUNC(ScriptRunCtxAddOutput)(RAI_ScriptRunCtx *sctx);
REDISAI_API size_t REDISAI_FUNC(ScriptRunCtxNumOutputs)(RAI_ScriptRunCtx *sctx);
REDISAI_API RAI_Tensor *REDISAI_FUNC(ScriptRunCtxOutputTensor)(RAI_ScriptRunCtx *sctx, size_t index);
REDISAI_API void REDISAI_FUNC(ScriptRunCtxFree)(RAI_ScriptRunCtx *sctx);
REDISAI_API int REDISAI_FUNC(ScriptRun)(RAI_ScriptRunCtx *sctx, RAI_Error *err);
REDISAI_API RAI_Script *REDISAI_FUNC(ScriptGetShallowCopy)(RAI_Script *script);
REDISAI_API RedisModuleType *REDISAI_FUNC(ScriptRedisType)(void);
REDISAI_API int REDISAI_FUNC(ScriptRunAsync)(RAI_ScriptRunCtx *sctx, RAI_OnFinishCB callback, void *private_data);
REDISAI_API RAI_ScriptRunCtx *REDISAI_FUNC(GetAsScriptRunCtx)(RAI_OnFinishCtx *ctx, RAI_Error *err);

/* 6.5 DAGs */
REDISAI_API RAI_DAGRunCtx *REDISAI_FUNC(DAGRunCtxCreate)(void);
REDISAI_API RAI_DAGRunOp *REDISAI_FUNC(DAGCreateModelRunOp)(RAI_Model *model);
REDISAI_API RAI_DAGRunOp *REDISAI_FUNC(DAGCreateScriptRunOp)(RAI_Script *script, const char *func_name);
REDISAI_API int REDISAI_FUNC(DAGRunOpAddInput)(RAI_DAGRunOp *op, const char *input);
REDISAI_API int REDISAI_FUNC(DAGRunOpAddOutput)(RAI_DAGRunOp *op, const char *output);
REDISAI_API int REDISAI_FUNC(DAGAddRunOp)(RAI_DAGRunCtx *dag, RAI_DAGRunOp *op, RAI_Error *err);
REDISAI_API int REDISAI_FUNC(DAGLoadTensor)(RAI_DAGRunCtx *dag, const char *name, RAI_Tensor *t);
REDISAI_API int REDISAI_FUNC(DAGAddTensorSet)(RAI_DAGRunCtx *dag, const char *name, RAI_Tensor *t);
REDISAI_API int REDISAI_FUNC(DAGAddTensorGet)(RAI_DAGRunCtx *dag, const char *name);
REDISAI_API int REDISAI_FUNC(DAGAddOpsFromString)(RAI_DAGRunCtx *dag, const char *ops, RAI_Error *err);
REDISAI_API size_t REDISAI_FUNC(DAGNumOps)(RAI_DAGRunCtx *dag);
REDISAI_API int REDISAI_FUNC(DAGRun)(RAI_DAGRunCtx *dag, RAI_OnFinishCB callback, void *private_data,
                                     RAI_Error *err);
REDISAI_API size_t REDISAI_FUNC(DAGNumOutputs)(RAI_OnFinishCtx *ctx);
REDISAI_API const RAI_Tensor *REDISAI_FUNC(DAGOutputTensor)(RAI_OnFinishCtx *ctx, size_t index);
REDISAI_API int REDISAI_FUNC(DAGRunError)(RAI_OnFinishCtx *ctx);
REDISAI_API const RAI_Error *REDISAI_FUNC(DAGGetError)(RAI_OnFinishCtx *ctx);
REDISAI_API void REDISAI_FUNC(DAGRunOpFree)(RAI_DAGRunOp *op);
REDISAI_API void REDISAI_FUNC(DAGFree)(RAI_DAGRunCtx *dag);

/* Fetches every function pointer; REDISMODULE_ERR if RedisAI is not loaded (or is too old).
 * Define REDISAI_MAIN in exactly one C file of the calling module before including this header. */
#ifdef REDISAI_MAIN
#define REDISAI_FUNC_DEF(name) __typeof__(RedisAI_##name) RedisAI_##name = NULL;
#define REDISAI_GET(name)                                                                        \
    if (!(RedisAI_##name = RedisModule_GetSharedAPI(ctx, "RedisAI_" #name))) return REDISMODULE_ERR;
#define REDISAI_EACH(X)                                                                          \
    X(GetLLAPIVersion) X(InitError) X(ClearError) X(FreeError) X(GetError) X(GetErrorOneLine)     \
    X(GetErrorCode) X(CloneError)                                                                 \
    X(TensorCreate) X(TensorCreateByConcatenatingTensors) X(TensorCreateBySlicingTensor)          \
    X(TensorLength) X(TensorDataSize) X(TensorFree) X(TensorSetData)                              \
    X(TensorSetValueFromLongLong) X(TensorSetValueFromDouble) X(TensorGetValueAsDouble)           \
    X(TensorGetValueAsLongLong) X(TensorGetShallowCopy) X(TensorNumDims) X(TensorDim)             \
    X(TensorByteSize) X(TensorData) X(TensorRedisType)                                            \
    X(ModelCreate) X(ModelFree) X(ModelRunCtxCreate) X(GetModelFromKeyspace)                      \
    X(ModelRunCtxAddInput) X(ModelRunCtxAddOutput) X(ModelRunCtxNumOutputs)                       \
    X(ModelRunCtxOutputTensor) X(ModelRunCtxFree) X(ModelRun) X(ModelSerialize)                   \
    X(ModelGetShallowCopy) X(ModelRedisType) X(ModelRunAsync) X(GetAsModelRunCtx)                 \
    X(ScriptCreate) X(GetScriptFromKeyspace) X(ScriptFree) X(ScriptRunCtxCreate)                  \
    X(ScriptRunCtxAddInput) X(ScriptRunCtxAddTensorInput) X(ScriptRunCtxAddInputList)             \
    X(ScriptRunCtxAddTensorInputList) X(ScriptRunCtxAddOutput) X(ScriptRunCtxNumOutputs)          \
    X(ScriptRunCtxOutputTensor) X(ScriptRunCtxFree) X(ScriptRun) X(ScriptGetShallowCopy)          \
    X(ScriptRedisType) X(ScriptRunAsync) X(GetAsScriptRunCtx)                                     \
    X(DAGRunCtxCreate) X(DAGCreateModelRunOp) X(DAGCreateScriptRunOp) X(DAGRunOpAddInput)         \
    X(DAGRunOpAddOutput) X(DAGAddRunOp) X(DAGLoadTensor) X(DAGAddTensorSet) X(DAGAddTensorGet)    \
    X(DAGAddOpsFromString) X(DAGNumOps) X(DAGRun) X(DAGNumOutputs) X(DAGOutputTensor)             \
    X(DAGRunError) X(DAGGetError) X(DAGRunOpFree) X(DAGFree)
REDISAI_EACH(REDISAI_FUNC_DEF)
static int RedisAI_Initialize(RedisModuleCtx *ctx) {
    REDISAI_EACH(REDISAI_GET)
    return RedisAI_GetLLAPIVersion() >= REDISAI_LLAPI_VERSION ? REDISMODULE_OK : REDISMODULE_ERR;
}
#endif

#endif
