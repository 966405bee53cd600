/* "llapitest": a Redis module that uses RedisAI's low-level API (docs/CONFIG.md §6) end to end.
 *
 * Loaded after our module (tests/test_llapi.py compiles it with gcc at test time). Every command
 * works on real keys, so the Python test checks the results with ordinary AI.* commands.
 *
 * Reference conventions this module relies on (RedisAI 1.2's): the Add*Input / DAGLoadTensor /
 * DAGAddTensorSet functions take their own reference to the tensor they are given (so a tensor read
 * from a key is passed as is, and one made with TensorCreate is freed by its creator afterwards);
 * ModelRunCtxOutputTensor / ScriptRunCtxOutputTensor / DAGOutputTensor return borrowed pointers
 * (a shallow copy is taken before storing one in a key, which then owns that reference);
 * GetModelFromKeyspace / GetScriptFromKeyspace return borrowed values.
 *
 * Replies of the run commands (llapitest.modelrun, ...):
 *   success: ["OK", <num outputs>, <1 if the callback ran off the main thread>, <wrong-kind error>]
 *   failure: ["ERROR", <error code>, <error text, one line>, <wrong-kind error>]
 * where <wrong-kind error> is the text of the GetAs*RunCtx error obtained by asking the finish
 * context for the other kind of context ("" for synchronous runs).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDISAI_MAIN
#include "redisai.h"

#define MAX_OUTPUTS 8

static pthread_t main_thread;

/* ------------------------------------------------------------------------------------------------
 * Small helpers */

static int reply_fail(RedisModuleCtx *ctx, const char *what, int line) {
    char buf[512];
    snprintf(buf, sizeof buf, "ERR check failed: %s (line %d)", what, line);
    return RedisModule_ReplyWithError(ctx, buf);
}

/* In functions returning int to a command: reply an error naming the failed check and return. */
#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) return reply_fail(ctx, #cond, __LINE__);                                     \
    } while (0)

static const char *err_text(RAI_Error *err) {
    const char *s = RedisAI_GetError(err);
    return s ? s : "";
}

static void reply_text_or_empty(RedisModuleCtx *ctx, const char *s) {
    RedisModule_ReplyWithStringBuffer(ctx, s ? s : "", s ? strlen(s) : 0);
}

/* [code, full text] */
static void reply_error_pair(RedisModuleCtx *ctx, RAI_Error *err) {
    RedisModule_ReplyWithArray(ctx, 2);
    RedisModule_ReplyWithLongLong(ctx, RedisAI_GetErrorCode(err));
    reply_text_or_empty(ctx, RedisAI_GetError(err));
}

/* Borrowed tensor of a key; NULL with an error reply text in *why otherwise. */
static RAI_Tensor *tensor_of_key(RedisModuleCtx *ctx, RedisModuleString *name, const char **why) {
    RedisModuleKey *key = RedisModule_OpenKey(ctx, name, REDISMODULE_READ);
    RAI_Tensor *t = NULL;
    if (RedisModule_KeyType(key) == REDISMODULE_KEYTYPE_EMPTY) {
        *why = "ERR tensor key is empty";
    } else if (RedisModule_ModuleTypeGetType(key) != RedisAI_TensorRedisType()) {
        *why = REDISMODULE_ERRORMSG_WRONGTYPE;
    } else {
        t = RedisModule_ModuleTypeGetValue(key);
        if (!t) *why = "ERR tensor key holds no value";
    }
    RedisModule_CloseKey(key);
    return t;
}

/* Stores t in the key, which takes over one reference (freed here on failure). */
static int store_value(RedisModuleCtx *ctx, RedisModuleString *name, RedisModuleType *type, void *v) {
    RedisModuleKey *key = RedisModule_OpenKey(ctx, name, REDISMODULE_READ | REDISMODULE_WRITE);
    int rc = RedisModule_ModuleTypeSetValue(key, type, v);
    RedisModule_CloseKey(key);
    return rc;
}

static int store_tensor(RedisModuleCtx *ctx, RedisModuleString *name, RAI_Tensor *t) {
    if (store_value(ctx, name, RedisAI_TensorRedisType(), t) != REDISMODULE_OK) {
        RedisAI_TensorFree(t);
        return REDISMODULE_ERR;
    }
    return REDISMODULE_OK;
}

static RedisModuleString *suffixed(RedisModuleCtx *ctx, RedisModuleString *prefix, const char *suffix) {
    size_t len;
    const char *p = RedisModule_StringPtrLen(prefix, &len);
    return RedisModule_CreateStringPrintf(ctx, "%.*s:%s", (int)len, p, suffix);
}

static int is_main_thread(void) { return pthread_equal(pthread_self(), main_thread); }

/* ------------------------------------------------------------------------------------------------
 * llapitest.version */

static int Version_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv;
    if (argc != 1) return RedisModule_WrongArity(ctx);
    return RedisModule_ReplyWithLongLong(ctx, RedisAI_GetLLAPIVersion());
}

/* ------------------------------------------------------------------------------------------------
 * llapitest.tensor <prefix>
 * Stores <prefix>:float, :int, :uint8, :bool, :int32, :concat, :slice, :string, :strcat, :strslice,
 * :scalar, :shared; replies OK or the first failed check. */

static int eq_bytes(const char *a, const char *b, size_t n) { return memcmp(a, b, n) == 0; }

static int Tensor_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 2) return RedisModule_WrongArity(ctx);
    RedisModule_AutoMemory(ctx); /* the key name strings */
    RedisModuleString *prefix = argv[1];
    RedisModuleType *ttype = RedisAI_TensorRedisType();
    CHECK(ttype != NULL);
    CHECK(ttype != RedisAI_ModelRedisType());
    CHECK(ttype != RedisAI_ScriptRedisType());

    /* Bad type names. */
    long long d22[2] = {2, 2};
    CHECK(RedisAI_TensorCreate("FLOAT16", d22, 2) == NULL);
    CHECK(RedisAI_TensorCreate("INT128", d22, 2) == NULL);
    CHECK(RedisAI_TensorCreate("UINT32", d22, 2) == NULL);
    CHECK(RedisAI_TensorCreate("bogus", d22, 2) == NULL);

    /* FLOAT [2,2]: zero filled, then 1.5 2.5 -3 4. Lower-case type name accepted. */
    RAI_Tensor *f = RedisAI_TensorCreate("float", d22, 2);
    CHECK(f != NULL);
    CHECK(RedisAI_TensorNumDims(f) == 2);
    CHECK(RedisAI_TensorDim(f, 0) == 2);
    CHECK(RedisAI_TensorDim(f, 1) == 2);
    CHECK(RedisAI_TensorLength(f) == 4);
    CHECK(RedisAI_TensorDataSize(f) == 4);
    CHECK(RedisAI_TensorByteSize(f) == 16);
    CHECK(RedisAI_TensorData(f) != NULL);
    for (long long i = 0; i < 4; i++) {
        double v = -1;
        CHECK(RedisAI_TensorGetValueAsDouble(f, i, &v) == 1);
        CHECK(v == 0.0);
    }
    const double fvals[4] = {1.5, 2.5, -3, 4};
    for (long long i = 0; i < 4; i++) CHECK(RedisAI_TensorSetValueFromDouble(f, i, fvals[i]) == 1);
    for (long long i = 0; i < 4; i++) {
        double v = 0;
        CHECK(RedisAI_TensorGetValueAsDouble(f, i, &v) == 1);
        CHECK(v == fvals[i]);
    }
    {
        float expect[4] = {1.5f, 2.5f, -3.0f, 4.0f};
        CHECK(eq_bytes(RedisAI_TensorData(f), (const char *)expect, 16));
    }
    {
        double v;
        long long ll;
        CHECK(RedisAI_TensorGetValueAsDouble(f, 4, &v) == 0);
        CHECK(RedisAI_TensorGetValueAsDouble(f, -1, &v) == 0);
        CHECK(RedisAI_TensorSetValueFromDouble(f, 4, 1.0) == 0);
        CHECK(RedisAI_TensorGetValueAsLongLong(f, 0, &ll) == 0);  /* float tensor: wrong type */
        CHECK(RedisAI_TensorSetValueFromLongLong(f, 0, 7) == 0);
        CHECK(RedisAI_TensorGetValueAsDouble(f, 0, &v) == 1 && v == 1.5); /* unchanged */
    }

    /* Shallow copies: same object, one more reference. */
    RAI_Tensor *fc = RedisAI_TensorGetShallowCopy(f);
    CHECK(fc == f);
    RAI_Tensor *fc2 = RedisAI_TensorGetShallowCopy(f);
    CHECK(fc2 == f);
    RedisAI_TensorFree(fc2);
    RedisAI_TensorFree(fc);
    {
        double v;
        CHECK(RedisAI_TensorGetValueAsDouble(f, 3, &v) == 1 && v == 4.0);
    }

    /* TensorSetData on FLOAT: right length ok, wrong length fails. */
    {
        RAI_Tensor *g = RedisAI_TensorCreate("FLOAT", d22, 2);
        CHECK(g != NULL);
        float blob[4] = {10, 20, 30, 40};
        CHECK(RedisAI_TensorSetData(g, (const char *)blob, 15) == 0);
        CHECK(RedisAI_TensorSetData(g, (const char *)blob, 17) == 0);
        CHECK(RedisAI_TensorSetData(g, (const char *)blob, 16) == 1);
        double v;
        CHECK(RedisAI_TensorGetValueAsDouble(g, 2, &v) == 1 && v == 30.0);
        RedisAI_TensorFree(g);
    }

    /* Concatenate [2,2] + [1,2] -> [3,2]; slice rows 1..2 -> [2,2]. */
    long long d12[2] = {1, 2};
    RAI_Tensor *h = RedisAI_TensorCreate("FLOAT", d12, 2);
    CHECK(h != NULL);
    CHECK(RedisAI_TensorSetValueFromDouble(h, 0, 5) == 1);
    CHECK(RedisAI_TensorSetValueFromDouble(h, 1, 6) == 1);
    RAI_Tensor *parts[2] = {f, h};
    RAI_Tensor *cat = RedisAI_TensorCreateByConcatenatingTensors(parts, 2);
    CHECK(cat != NULL);
    CHECK(RedisAI_TensorNumDims(cat) == 2);
    CHECK(RedisAI_TensorDim(cat, 0) == 3);
    CHECK(RedisAI_TensorDim(cat, 1) == 2);
    CHECK(RedisAI_TensorLength(cat) == 6);
    CHECK(RedisAI_TensorByteSize(cat) == 24);
    {
        const double expect[6] = {1.5, 2.5, -3, 4, 5, 6};
        for (long long i = 0; i < 6; i++) {
            double v;
            CHECK(RedisAI_TensorGetValueAsDouble(cat, i, &v) == 1 && v == expect[i]);
        }
    }
    RAI_Tensor *sl = RedisAI_TensorCreateBySlicingTensor(cat, 1, 2);
    CHECK(sl != NULL);
    CHECK(RedisAI_TensorNumDims(sl) == 2);
    CHECK(RedisAI_TensorDim(sl, 0) == 2);
    CHECK(RedisAI_TensorDim(sl, 1) == 2);
    CHECK(RedisAI_TensorLength(sl) == 4);
    {
        const double expect[4] = {-3, 4, 5, 6};
        for (long long i = 0; i < 4; i++) {
            double v;
            CHECK(RedisAI_TensorGetValueAsDouble(sl, i, &v) == 1 && v == expect[i]);
        }
    }
    RedisAI_TensorFree(h);

    /* INT64 [3]: negative values are fine through the API. */
    long long d3[1] = {3};
    RAI_Tensor *it = RedisAI_TensorCreate("INT64", d3, 1);
    CHECK(it != NULL);
    CHECK(RedisAI_TensorDataSize(it) == 8);
    CHECK(RedisAI_TensorByteSize(it) == 24);
    CHECK(RedisAI_TensorNumDims(it) == 1);
    const long long ivals[3] = {-5, 0, 1LL << 40};
    for (long long i = 0; i < 3; i++) CHECK(RedisAI_TensorSetValueFromLongLong(it, i, ivals[i]) == 1);
    for (long long i = 0; i < 3; i++) {
        long long v = 0;
        CHECK(RedisAI_TensorGetValueAsLongLong(it, i, &v) == 1);
        CHECK(v == ivals[i]);
    }
    {
        long long v;
        double dv;
        CHECK(RedisAI_TensorGetValueAsLongLong(it, 3, &v) == 0);
        CHECK(RedisAI_TensorGetValueAsLongLong(it, -1, &v) == 0);
        CHECK(RedisAI_TensorSetValueFromLongLong(it, 3, 1) == 0);
        CHECK(RedisAI_TensorGetValueAsDouble(it, 0, &dv) == 0);  /* int tensor: wrong type */
        CHECK(RedisAI_TensorSetValueFromDouble(it, 0, 1.0) == 0);
        CHECK(RedisAI_TensorGetValueAsLongLong(it, 0, &v) == 1 && v == -5);
    }

    /* UINT8 [2]: 255 7. */
    long long d2[1] = {2};
    RAI_Tensor *u8 = RedisAI_TensorCreate("UINT8", d2, 1);
    CHECK(u8 != NULL);
    CHECK(RedisAI_TensorDataSize(u8) == 1);
    CHECK(RedisAI_TensorSetValueFromLongLong(u8, 0, 255) == 1);
    CHECK(RedisAI_TensorSetValueFromLongLong(u8, 1, 7) == 1);
    {
        long long v;
        CHECK(RedisAI_TensorGetValueAsLongLong(u8, 0, &v) == 1 && v == 255);
    }

    /* BOOL [4]: SetData validates 0/1. */
    long long d4[1] = {4};
    RAI_Tensor *b = RedisAI_TensorCreate("BOOL", d4, 1);
    CHECK(b != NULL);
    CHECK(RedisAI_TensorDataSize(b) == 1);
    CHECK(RedisAI_TensorByteSize(b) == 4);
    {
        const char bad[4] = {1, 2, 0, 1};
        const char good[4] = {1, 0, 1, 1};
        CHECK(RedisAI_TensorSetData(b, bad, 4) == 0);
        CHECK(RedisAI_TensorSetData(b, good, 3) == 0);
        CHECK(RedisAI_TensorSetData(b, good, 4) == 1);
        long long v;
        CHECK(RedisAI_TensorGetValueAsLongLong(b, 0, &v) == 1 && v == 1);
        CHECK(RedisAI_TensorGetValueAsLongLong(b, 1, &v) == 1 && v == 0);
    }

    /* INT32 [2] through TensorSetData: -7, 100000. */
    RAI_Tensor *i32 = RedisAI_TensorCreate("INT32", d2, 1);
    CHECK(i32 != NULL);
    {
        int vals[2] = {-7, 100000};
        CHECK(RedisAI_TensorSetData(i32, (const char *)vals, 8) == 1);
        long long v;
        CHECK(RedisAI_TensorGetValueAsLongLong(i32, 0, &v) == 1 && v == -7);
        CHECK(RedisAI_TensorGetValueAsLongLong(i32, 1, &v) == 1 && v == 100000);
    }

    /* STRING tensors. */
    RAI_Tensor *s0 = RedisAI_TensorCreate("STRING", d2, 1); /* two empty strings */
    CHECK(s0 != NULL);
    CHECK(RedisAI_TensorLength(s0) == 2);
    CHECK(RedisAI_TensorByteSize(s0) == 2);
    CHECK(eq_bytes(RedisAI_TensorData(s0), "\0\0", 2));
    {
        double dv;
        long long v;
        CHECK(RedisAI_TensorGetValueAsDouble(s0, 0, &dv) == 0);
        CHECK(RedisAI_TensorGetValueAsLongLong(s0, 0, &v) == 0);
    }
    RAI_Tensor *s1 = RedisAI_TensorCreate("STRING", d2, 1);
    CHECK(s1 != NULL);
    CHECK(RedisAI_TensorSetData(s1, "a\0bc", 4) == 0);        /* last element not terminated */
    CHECK(RedisAI_TensorSetData(s1, "a\0b\0c\0", 6) == 0);    /* three elements for two */
    CHECK(RedisAI_TensorSetData(s1, "a\0bc\0", 5) == 1);
    CHECK(RedisAI_TensorByteSize(s1) == 5);
    CHECK(eq_bytes(RedisAI_TensorData(s1), "a\0bc\0", 5));
    long long d1[1] = {1};
    RAI_Tensor *s2 = RedisAI_TensorCreate("STRING", d1, 1);
    CHECK(s2 != NULL);
    CHECK(RedisAI_TensorSetData(s2, "def\0", 4) == 1);
    RAI_Tensor *sparts[2] = {s1, s2};
    RAI_Tensor *scat = RedisAI_TensorCreateByConcatenatingTensors(sparts, 2);
    CHECK(scat != NULL);
    CHECK(RedisAI_TensorNumDims(scat) == 1);
    CHECK(RedisAI_TensorDim(scat, 0) == 3);
    CHECK(RedisAI_TensorLength(scat) == 3);
    CHECK(RedisAI_TensorByteSize(scat) == 9);
    CHECK(eq_bytes(RedisAI_TensorData(scat), "a\0bc\0def\0", 9));
    RAI_Tensor *sslice = RedisAI_TensorCreateBySlicingTensor(scat, 1, 2);
    CHECK(sslice != NULL);
    CHECK(RedisAI_TensorDim(sslice, 0) == 2);
    CHECK(RedisAI_TensorLength(sslice) == 2);
    CHECK(RedisAI_TensorByteSize(sslice) == 7);
    CHECK(eq_bytes(RedisAI_TensorData(sslice), "bc\0def\0", 7));
    RedisAI_TensorFree(s1);
    RedisAI_TensorFree(s2);

    /* 0-d tensor. */
    RAI_Tensor *sc = RedisAI_TensorCreate("DOUBLE", NULL, 0);
    CHECK(sc != NULL);
    CHECK(RedisAI_TensorNumDims(sc) == 0);
    CHECK(RedisAI_TensorLength(sc) == 1);
    CHECK(RedisAI_TensorDataSize(sc) == 8);
    CHECK(RedisAI_TensorSetValueFromDouble(sc, 0, 0.25) == 1);

    /* Store everything; each key takes over our reference. */
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "float"), f) == REDISMODULE_OK);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "concat"), cat) == REDISMODULE_OK);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "slice"), sl) == REDISMODULE_OK);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "int"), it) == REDISMODULE_OK);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "uint8"), u8) == REDISMODULE_OK);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "bool"), b) == REDISMODULE_OK);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "int32"), i32) == REDISMODULE_OK);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "string"), s0) == REDISMODULE_OK);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "strcat"), scat) == REDISMODULE_OK);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "strslice"), sslice) == REDISMODULE_OK);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "scalar"), sc) == REDISMODULE_OK);

    /* One tensor under two keys (two references), and the same tensor read back from a key. */
    RAI_Tensor *shared = RedisAI_TensorCreate("INT8", d2, 1);
    CHECK(shared != NULL);
    CHECK(RedisAI_TensorSetValueFromLongLong(shared, 0, -1) == 1);
    CHECK(RedisAI_TensorSetValueFromLongLong(shared, 1, 2) == 1);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "shared1"), RedisAI_TensorGetShallowCopy(shared)) ==
          REDISMODULE_OK);
    CHECK(store_tensor(ctx, suffixed(ctx, prefix, "shared2"), shared) == REDISMODULE_OK);
    {
        const char *why = NULL;
        RAI_Tensor *back = tensor_of_key(ctx, suffixed(ctx, prefix, "shared1"), &why);
        CHECK(back == shared);
        RAI_Tensor *back2 = tensor_of_key(ctx, suffixed(ctx, prefix, "float"), &why);
        CHECK(back2 != NULL && RedisAI_TensorLength(back2) == 4);
    }
    return RedisModule_ReplyWithSimpleString(ctx, "OK");
}

/* ------------------------------------------------------------------------------------------------
 * Async jobs (model, script, DAG) */

enum { JOB_MODEL, JOB_SCRIPT, JOB_DAG };

typedef struct Job {
    int kind;
    RedisModuleBlockedClient *bc;
    RedisModuleString *out_key;        /* owned (NULL ctx) */
    RAI_ModelRunCtx *mctx;             /* owned once the callback took it back */
    RAI_ScriptRunCtx *sctx;
    RAI_DAGRunCtx *dag;                /* freed by the callback */
    RAI_Error *err;                    /* run error, owned */
    RAI_Error *wrong_kind;             /* error of asking for the other kind of context */
    int on_worker;
    /* DAG results (references owned by the job) */
    size_t nops;
    size_t noutputs;
    RAI_Tensor *outputs[MAX_OUTPUTS];
    int dag_error;
} Job;

static Job *job_new(int kind, RedisModuleString *out_key) {
    Job *j = RedisModule_Calloc(1, sizeof *j);
    j->kind = kind;
    if (out_key) j->out_key = RedisModule_CreateStringFromString(NULL, out_key);
    RedisAI_InitError(&j->err);
    RedisAI_InitError(&j->wrong_kind);
    return j;
}

static void job_free(Job *j) {
    if (j->mctx) RedisAI_ModelRunCtxFree(j->mctx);
    if (j->sctx) RedisAI_ScriptRunCtxFree(j->sctx);
    for (size_t i = 0; i < MAX_OUTPUTS; i++)
        if (j->outputs[i]) RedisAI_TensorFree(j->outputs[i]);
    if (j->out_key) RedisModule_FreeString(NULL, j->out_key);
    RedisAI_FreeError(j->err);
    RedisAI_FreeError(j->wrong_kind);
    RedisModule_Free(j);
}

static void job_free_privdata(RedisModuleCtx *ctx, void *privdata) {
    (void)ctx;
    job_free(privdata);
}

/* Worker thread: take the results back, then wake the client up. */
static void model_done(RAI_OnFinishCtx *fctx, void *private_data) {
    Job *j = private_data;
    j->on_worker = !is_main_thread();
    RAI_ScriptRunCtx *not_script = RedisAI_GetAsScriptRunCtx(fctx, j->wrong_kind);
    if (not_script) j->sctx = not_script; /* unexpected; freed with the job */
    j->mctx = RedisAI_GetAsModelRunCtx(fctx, j->err);
    RedisModule_UnblockClient(j->bc, j);
}

static void script_done(RAI_OnFinishCtx *fctx, void *private_data) {
    Job *j = private_data;
    j->on_worker = !is_main_thread();
    RAI_ModelRunCtx *not_model = RedisAI_GetAsModelRunCtx(fctx, j->wrong_kind);
    if (not_model) j->mctx = not_model;
    j->sctx = RedisAI_GetAsScriptRunCtx(fctx, j->err);
    RedisModule_UnblockClient(j->bc, j);
}

static void dag_done(RAI_OnFinishCtx *fctx, void *private_data) {
    Job *j = private_data;
    j->on_worker = !is_main_thread();
    j->noutputs = RedisAI_DAGNumOutputs(fctx);
    for (size_t i = 0; i < j->noutputs && i < MAX_OUTPUTS; i++) {
        const RAI_Tensor *t = RedisAI_DAGOutputTensor(fctx, i);
        j->outputs[i] = t ? RedisAI_TensorGetShallowCopy((RAI_Tensor *)t) : NULL;
    }
    j->dag_error = RedisAI_DAGRunError(fctx);
    if (j->dag_error) {
        const RAI_Error *e = RedisAI_DAGGetError(fctx);
        if (e) RedisAI_CloneError(j->err, e);
    }
    RAI_ModelRunCtx *not_model = RedisAI_GetAsModelRunCtx(fctx, j->wrong_kind);
    if (not_model) j->mctx = not_model;
    RedisAI_DAGFree(j->dag);
    j->dag = NULL;
    RedisModule_UnblockClient(j->bc, j);
}

/* ["ERROR", code, one-line text, detail] */
static void reply_error_array(RedisModuleCtx *ctx, RAI_Error *err, const char *detail) {
    RedisModule_ReplyWithArray(ctx, 4);
    RedisModule_ReplyWithSimpleString(ctx, "ERROR");
    RedisModule_ReplyWithLongLong(ctx, RedisAI_GetErrorCode(err));
    reply_text_or_empty(ctx, RedisAI_GetErrorOneLine(err));
    reply_text_or_empty(ctx, detail);
}

static void reply_run_error(RedisModuleCtx *ctx, RAI_Error *err, RAI_Error *wrong_kind) {
    reply_error_array(ctx, err, wrong_kind ? RedisAI_GetError(wrong_kind) : "");
}

/* ["OK", number of outputs, whether the callback ran on a worker, detail] */
static void reply_ok_array(RedisModuleCtx *ctx, size_t noutputs, long long on_worker, const char *detail) {
    RedisModule_ReplyWithArray(ctx, 4);
    RedisModule_ReplyWithSimpleString(ctx, "OK");
    RedisModule_ReplyWithLongLong(ctx, (long long)noutputs);
    RedisModule_ReplyWithLongLong(ctx, on_worker);
    reply_text_or_empty(ctx, detail);
}

/* A synchronous run's reply: its error, or its first output stored at `key`. */
static void reply_sync_run(RedisModuleCtx *ctx, int rc, RAI_Error *err, RAI_Tensor *out, size_t noutputs,
                           RedisModuleString *key) {
    if (rc != REDISMODULE_OK || RedisAI_GetErrorCode(err) != RAI_OK)
        reply_run_error(ctx, err, NULL);
    else if (!out)
        RedisModule_ReplyWithError(ctx, "ERR run succeeded without an output tensor");
    else if (store_tensor(ctx, key, RedisAI_TensorGetShallowCopy(out)) != REDISMODULE_OK)
        RedisModule_ReplyWithError(ctx, "ERR could not store the output");
    else
        reply_ok_array(ctx, noutputs, 0, "");
}

/* Main thread, Redis's lock held. */
static int job_reply(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv;
    (void)argc;
    Job *j = RedisModule_GetBlockedClientPrivateData(ctx);
    RedisModule_AutoMemory(ctx);
    if (j->kind == JOB_DAG) {
        if (j->dag_error) {
            reply_run_error(ctx, j->err, j->wrong_kind);
            return REDISMODULE_OK;
        }
        for (size_t i = 0; i < j->noutputs && i < MAX_OUTPUTS; i++) {
            if (!j->outputs[i]) continue;
            RedisModuleString *name =
                i == 0 ? j->out_key : RedisModule_CreateStringPrintf(ctx, "%s:%zu",
                                                                     RedisModule_StringPtrLen(j->out_key, NULL), i);
            RAI_Tensor *t = j->outputs[i];
            j->outputs[i] = NULL;
            if (store_tensor(ctx, name, t) != REDISMODULE_OK)
                return RedisModule_ReplyWithError(ctx, "ERR could not store a DAG output");
        }
        reply_ok_array(ctx, j->noutputs, j->on_worker, RedisAI_GetError(j->wrong_kind));
        return REDISMODULE_OK;
    }
    RAI_Tensor *out = NULL;
    size_t nout = 0;
    if (j->kind == JOB_MODEL && j->mctx && RedisAI_GetErrorCode(j->err) == RAI_OK) {
        nout = RedisAI_ModelRunCtxNumOutputs(j->mctx);
        out = nout ? RedisAI_ModelRunCtxOutputTensor(j->mctx, 0) : NULL;
    } else if (j->kind == JOB_SCRIPT && j->sctx && RedisAI_GetErrorCode(j->err) == RAI_OK) {
        nout = RedisAI_ScriptRunCtxNumOutputs(j->sctx);
        out = nout ? RedisAI_ScriptRunCtxOutputTensor(j->sctx, 0) : NULL;
    } else {
        if (RedisAI_GetErrorCode(j->err) == RAI_OK)
            return RedisModule_ReplyWithError(ctx, "ERR no run context and no error");
        reply_run_error(ctx, j->err, j->wrong_kind);
        return REDISMODULE_OK;
    }
    if (!out) return RedisModule_ReplyWithError(ctx, "ERR run succeeded without an output tensor");
    if (store_tensor(ctx, j->out_key, RedisAI_TensorGetShallowCopy(out)) != REDISMODULE_OK)
        return RedisModule_ReplyWithError(ctx, "ERR could not store the output");
    reply_ok_array(ctx, nout, j->on_worker, RedisAI_GetError(j->wrong_kind));
    return REDISMODULE_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Models */

/* Builds a run context for <model_key> with the tensors of the given keys as inputs and one
 * output; NULL after replying an error. */
static RAI_ModelRunCtx *model_ctx_from_args(RedisModuleCtx *ctx, RedisModuleString *model_key,
                                            RedisModuleString **in_keys, int nin) {
    RAI_Model *model = NULL;
    RAI_Error *err;
    RedisAI_InitError(&err);
    if (RedisAI_GetModelFromKeyspace(ctx, model_key, &model, REDISMODULE_READ, err) != REDISMODULE_OK) {
        RedisModule_ReplyWithError(ctx, RedisAI_GetErrorOneLine(err));
        RedisAI_FreeError(err);
        return NULL;
    }
    RedisAI_FreeError(err);
    if (!model) {
        RedisModule_ReplyWithError(ctx, "ERR GetModelFromKeyspace gave OK without a model");
        return NULL;
    }
    RAI_Tensor *ins[16];
    for (int i = 0; i < nin; i++) {
        const char *why = NULL;
        ins[i] = tensor_of_key(ctx, in_keys[i], &why);
        if (!ins[i]) {
            RedisModule_ReplyWithError(ctx, why);
            return NULL;
        }
    }
    RAI_ModelRunCtx *mctx = RedisAI_ModelRunCtxCreate(model);
    if (!mctx) {
        RedisModule_ReplyWithError(ctx, "ERR ModelRunCtxCreate returned NULL");
        return NULL;
    }
    static const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (int i = 0; i < nin; i++) {
        /* Names are ignored: give misleading ones on purpose. */
        if (!RedisAI_ModelRunCtxAddInput(mctx, names[(nin - 1 - i) % 8], ins[i])) {
            RedisAI_ModelRunCtxFree(mctx);
            RedisModule_ReplyWithError(ctx, "ERR ModelRunCtxAddInput failed");
            return NULL;
        }
    }
    if (!RedisAI_ModelRunCtxAddOutput(mctx, "no-such-output")) {
        RedisAI_ModelRunCtxFree(mctx);
        RedisModule_ReplyWithError(ctx, "ERR ModelRunCtxAddOutput failed");
        return NULL;
    }
    if (RedisAI_ModelRunCtxNumOutputs(mctx) != 1) {
        RedisAI_ModelRunCtxFree(mctx);
        RedisModule_ReplyWithError(ctx, "ERR ModelRunCtxNumOutputs is not 1 after one AddOutput");
        return NULL;
    }
    return mctx;
}

/* llapitest.modelrun <model_key> <out_key> <in_key>... (async) */
static int ModelRun_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 4 || argc > 3 + 16) return RedisModule_WrongArity(ctx);
    RAI_ModelRunCtx *mctx = model_ctx_from_args(ctx, argv[1], argv + 3, argc - 3);
    if (!mctx) return REDISMODULE_OK;
    Job *j = job_new(JOB_MODEL, argv[2]);
    j->bc = RedisModule_BlockClient(ctx, job_reply, NULL, job_free_privdata, 0);
    if (RedisAI_ModelRunAsync(mctx, model_done, j) != REDISMODULE_OK) {
        RedisModule_AbortBlock(j->bc);
        RedisAI_ModelRunCtxFree(mctx);
        job_free(j);
        return RedisModule_ReplyWithError(ctx, "ERR ModelRunAsync failed");
    }
    return REDISMODULE_OK;
}

/* llapitest.modelrun_sync <model_key> <out_key> <in_key>... */
static int ModelRunSync_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 4 || argc > 3 + 16) return RedisModule_WrongArity(ctx);
    RAI_ModelRunCtx *mctx = model_ctx_from_args(ctx, argv[1], argv + 3, argc - 3);
    if (!mctx) return REDISMODULE_OK;
    RAI_Error *err;
    RedisAI_InitError(&err);
    RAI_ModelRunCtx *batch[1] = {mctx};
    int rc = RedisAI_ModelRun(batch, 1, err);
    reply_sync_run(ctx, rc, err, RedisAI_ModelRunCtxOutputTensor(mctx, 0), RedisAI_ModelRunCtxNumOutputs(mctx),
                   argv[2]);
    RedisAI_ModelRunCtxFree(mctx);
    RedisAI_FreeError(err);
    return REDISMODULE_OK;
}

/* llapitest.modelrun_batch <model_key> <out1> <out2> <a1> <b1> <a2> <b2>: one RedisAI_ModelRun of
 * two contexts. */
static int ModelRunBatch_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 8) return RedisModule_WrongArity(ctx);
    RAI_ModelRunCtx *m1 = model_ctx_from_args(ctx, argv[1], argv + 4, 2);
    if (!m1) return REDISMODULE_OK;
    RAI_ModelRunCtx *m2 = model_ctx_from_args(ctx, argv[1], argv + 6, 2);
    if (!m2) {
        RedisAI_ModelRunCtxFree(m1);
        return REDISMODULE_OK;
    }
    RAI_Error *err;
    RedisAI_InitError(&err);
    RAI_ModelRunCtx *batch[2] = {m1, m2};
    int rc = RedisAI_ModelRun(batch, 2, err);
    if (rc != REDISMODULE_OK || RedisAI_GetErrorCode(err) != RAI_OK) {
        reply_run_error(ctx, err, NULL);
    } else {
        RAI_Tensor *o1 = RedisAI_ModelRunCtxOutputTensor(m1, 0);
        RAI_Tensor *o2 = RedisAI_ModelRunCtxOutputTensor(m2, 0);
        if (!o1 || !o2) {
            RedisModule_ReplyWithError(ctx, "ERR batched ModelRun left an output empty");
        } else {
            store_tensor(ctx, argv[2], RedisAI_TensorGetShallowCopy(o1));
            store_tensor(ctx, argv[3], RedisAI_TensorGetShallowCopy(o2));
            RedisModule_ReplyWithSimpleString(ctx, "OK");
        }
    }
    RedisAI_ModelRunCtxFree(m1);
    RedisAI_ModelRunCtxFree(m2);
    RedisAI_FreeError(err);
    return REDISMODULE_OK;
}

/* llapitest.modelrun_none: RedisAI_ModelRun with n == 0 -> [rc, code, text] */
static int ModelRunNone_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv;
    if (argc != 1) return RedisModule_WrongArity(ctx);
    RAI_Error *err;
    RedisAI_InitError(&err);
    RAI_ModelRunCtx *none[1] = {NULL};
    int rc = RedisAI_ModelRun(none, 0, err);
    RedisModule_ReplyWithArray(ctx, 3);
    RedisModule_ReplyWithLongLong(ctx, rc);
    RedisModule_ReplyWithLongLong(ctx, RedisAI_GetErrorCode(err));
    reply_text_or_empty(ctx, RedisAI_GetError(err));
    RedisAI_FreeError(err);
    return REDISMODULE_OK;
}

/* llapitest.modelcreate <key> <backend-int> <device> <tag|""> <batch> <minbatch> <minbatchtimeout> <blob>
 * success: ["OK", <1 if ModelSerialize gave the blob back>]; failure: ["ERROR", code, oneline, full] */
static int ModelCreate_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 9) return RedisModule_WrongArity(ctx);
    long long backend, bs, mbs, mbt;
    if (RedisModule_StringToLongLong(argv[2], &backend) != REDISMODULE_OK ||
        RedisModule_StringToLongLong(argv[5], &bs) != REDISMODULE_OK ||
        RedisModule_StringToLongLong(argv[6], &mbs) != REDISMODULE_OK ||
        RedisModule_StringToLongLong(argv[7], &mbt) != REDISMODULE_OK)
        return RedisModule_ReplyWithError(ctx, "ERR bad integer");
    size_t devlen, taglen, bloblen;
    const char *dev = RedisModule_StringPtrLen(argv[3], &devlen);
    RedisModule_StringPtrLen(argv[4], &taglen);
    const char *blob = RedisModule_StringPtrLen(argv[8], &bloblen);
    char devbuf[64];
    snprintf(devbuf, sizeof devbuf, "%.*s", (int)devlen, dev);
    RAI_ModelOpts opts = {.batchsize = (size_t)bs, .minbatchsize = (size_t)mbs,
                          .minbatchtimeout = (size_t)mbt, .backends_intra_op_parallelism = 0,
                          .backends_inter_op_parallelism = 0};
    RAI_Error *err;
    RedisAI_InitError(&err);
    RAI_Model *m = RedisAI_ModelCreate((int)backend, devbuf, taglen ? argv[4] : NULL, opts, 0, NULL, 0,
                                       NULL, blob, bloblen, err);
    if (!m) {
        reply_error_array(ctx, err, RedisAI_GetError(err));
        RedisAI_FreeError(err);
        return REDISMODULE_OK;
    }
    if (RedisAI_GetErrorCode(err) != RAI_OK) {
        RedisAI_FreeError(err);
        return RedisModule_ReplyWithError(ctx, "ERR ModelCreate returned a model and an error");
    }
    char *buf = NULL;
    size_t len = 0;
    int same = 0;
    if (RedisAI_ModelSerialize(m, &buf, &len, err) == REDISMODULE_OK && buf) {
        same = len == bloblen && memcmp(buf, blob, len) == 0;
        RedisModule_Free(buf);
    }
    /* A shallow copy is the same model; dropping it leaves the model alive. */
    RAI_Model *m2 = RedisAI_ModelGetShallowCopy(m);
    if (m2 != m) same = -1;
    RedisAI_ModelFree(m2, err);
    if (store_value(ctx, argv[1], RedisAI_ModelRedisType(), m) != REDISMODULE_OK) {
        RedisAI_ModelFree(m, err);
        RedisAI_FreeError(err);
        return RedisModule_ReplyWithError(ctx, "ERR could not store the model");
    }
    RedisAI_FreeError(err);
    RedisModule_ReplyWithArray(ctx, 2);
    RedisModule_ReplyWithSimpleString(ctx, "OK");
    RedisModule_ReplyWithLongLong(ctx, same);
    return REDISMODULE_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Scripts */

/* llapitest.scriptcreate <key> <device> <tag|""> <source>
 * success: "OK"; failure: ["ERROR", code, oneline, full] */
static int ScriptCreate_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 5) return RedisModule_WrongArity(ctx);
    size_t devlen, taglen;
    const char *dev = RedisModule_StringPtrLen(argv[2], &devlen);
    RedisModule_StringPtrLen(argv[3], &taglen);
    const char *src = RedisModule_StringPtrLen(argv[4], NULL);
    char devbuf[64];
    snprintf(devbuf, sizeof devbuf, "%.*s", (int)devlen, dev);
    RAI_Error *err;
    RedisAI_InitError(&err);
    RAI_Script *s = RedisAI_ScriptCreate(devbuf, taglen ? argv[3] : NULL, src, err);
    if (!s) {
        reply_error_array(ctx, err, RedisAI_GetError(err));
        RedisAI_FreeError(err);
        return REDISMODULE_OK;
    }
    RAI_Script *s2 = RedisAI_ScriptGetShallowCopy(s);
    int same = s2 == s;
    RedisAI_ScriptFree(s2, err);
    if (store_value(ctx, argv[1], RedisAI_ScriptRedisType(), s) != REDISMODULE_OK) {
        RedisAI_ScriptFree(s, err);
        RedisAI_FreeError(err);
        return RedisModule_ReplyWithError(ctx, "ERR could not store the script");
    }
    RedisAI_FreeError(err);
    if (!same) return RedisModule_ReplyWithError(ctx, "ERR ScriptGetShallowCopy returned another object");
    return RedisModule_ReplyWithSimpleString(ctx, "OK");
}

/* llapitest.scriptrun <ASYNC|SYNC> <TENSOR|TENSORLIST|INPUT|INPUTLIST> <script_key> <fn> <out_key> <in_key>... */
static int ScriptRun_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 6 || argc > 6 + 16) return RedisModule_WrongArity(ctx);
    const char *mode = RedisModule_StringPtrLen(argv[1], NULL);
    const char *how = RedisModule_StringPtrLen(argv[2], NULL);
    int async = !strcasecmp(mode, "ASYNC");
    if (!async && strcasecmp(mode, "SYNC")) return RedisModule_ReplyWithError(ctx, "ERR mode");
    RAI_Error *err;
    RedisAI_InitError(&err);
    RAI_Script *script = NULL;
    if (RedisAI_GetScriptFromKeyspace(ctx, argv[3], &script, REDISMODULE_READ, err) != REDISMODULE_OK) {
        RedisModule_ReplyWithError(ctx, RedisAI_GetErrorOneLine(err));
        RedisAI_FreeError(err);
        return REDISMODULE_OK;
    }
    int nin = argc - 6;
    RAI_Tensor *ins[16];
    for (int i = 0; i < nin; i++) {
        const char *why = NULL;
        ins[i] = tensor_of_key(ctx, argv[6 + i], &why);
        if (!ins[i]) {
            RedisAI_FreeError(err);
            return RedisModule_ReplyWithError(ctx, why);
        }
    }
    const char *fn = RedisModule_StringPtrLen(argv[4], NULL);
    RAI_ScriptRunCtx *sctx = RedisAI_ScriptRunCtxCreate(script, fn);
    if (!sctx) {
        RedisAI_FreeError(err);
        return RedisModule_ReplyWithError(ctx, "ERR ScriptRunCtxCreate returned NULL");
    }
    int ok = 1;
    if (!strcasecmp(how, "TENSOR")) {
        for (int i = 0; i < nin; i++) ok &= RedisAI_ScriptRunCtxAddTensorInput(sctx, ins[i]) == 1;
    } else if (!strcasecmp(how, "TENSORLIST")) {
        /* first input alone, the rest as a list */
        if (nin > 0) ok &= RedisAI_ScriptRunCtxAddTensorInput(sctx, ins[0]) == 1;
        if (nin > 1) ok &= RedisAI_ScriptRunCtxAddTensorInputList(sctx, ins + 1, nin - 1) == 1;
    } else if (!strcasecmp(how, "INPUT")) {
        for (int i = 0; i < nin; i++) ok &= RedisAI_ScriptRunCtxAddInput(sctx, ins[i], err) == 1;
    } else if (!strcasecmp(how, "INPUTLIST")) {
        if (nin > 0) ok &= RedisAI_ScriptRunCtxAddInput(sctx, ins[0], err) == 1;
        if (nin > 1) ok &= RedisAI_ScriptRunCtxAddInputList(sctx, ins + 1, nin - 1, err) == 1;
    } else {
        RedisAI_ScriptRunCtxFree(sctx);
        RedisAI_FreeError(err);
        return RedisModule_ReplyWithError(ctx, "ERR input style");
    }
    if (!ok || RedisAI_GetErrorCode(err) != RAI_OK) {
        RedisAI_ScriptRunCtxFree(sctx);
        RedisAI_FreeError(err);
        return RedisModule_ReplyWithError(ctx, "ERR adding script inputs failed");
    }
    if (!RedisAI_ScriptRunCtxAddOutput(sctx) || RedisAI_ScriptRunCtxNumOutputs(sctx) != 1) {
        RedisAI_ScriptRunCtxFree(sctx);
        RedisAI_FreeError(err);
        return RedisModule_ReplyWithError(ctx, "ERR ScriptRunCtxAddOutput/NumOutputs");
    }
    if (async) {
        RedisAI_FreeError(err);
        Job *j = job_new(JOB_SCRIPT, argv[5]);
        j->bc = RedisModule_BlockClient(ctx, job_reply, NULL, job_free_privdata, 0);
        if (RedisAI_ScriptRunAsync(sctx, script_done, j) != REDISMODULE_OK) {
            RedisModule_AbortBlock(j->bc);
            RedisAI_ScriptRunCtxFree(sctx);
            job_free(j);
            return RedisModule_ReplyWithError(ctx, "ERR ScriptRunAsync failed");
        }
        return REDISMODULE_OK;
    }
    int rc = RedisAI_ScriptRun(sctx, err);
    reply_sync_run(ctx, rc, err, RedisAI_ScriptRunCtxOutputTensor(sctx, 0), RedisAI_ScriptRunCtxNumOutputs(sctx),
                   argv[5]);
    RedisAI_ScriptRunCtxFree(sctx);
    RedisAI_FreeError(err);
    return REDISMODULE_OK;
}

/* ------------------------------------------------------------------------------------------------
 * DAGs */

static int dag_start(RedisModuleCtx *ctx, RAI_DAGRunCtx *dag, RedisModuleString *out_key) {
    Job *j = job_new(JOB_DAG, out_key);
    j->dag = dag;
    j->nops = RedisAI_DAGNumOps(dag);
    j->bc = RedisModule_BlockClient(ctx, job_reply, NULL, job_free_privdata, 0);
    RAI_Error *err;
    RedisAI_InitError(&err);
    if (RedisAI_DAGRun(dag, dag_done, j, err) != REDISMODULE_OK) {
        RedisModule_AbortBlock(j->bc);
        RedisModule_ReplyWithArray(ctx, 3);
        RedisModule_ReplyWithSimpleString(ctx, "RUN_ERROR");
        RedisModule_ReplyWithLongLong(ctx, RedisAI_GetErrorCode(err));
        reply_text_or_empty(ctx, RedisAI_GetErrorOneLine(err));
        RedisAI_FreeError(err);
        RedisAI_DAGFree(dag);
        j->dag = NULL;
        job_free(j);
        return REDISMODULE_OK;
    }
    RedisAI_FreeError(err);
    return REDISMODULE_OK;
}

/* llapitest.dagrun <ops> <out_key> [<name> <tensor_key>]...
 * Loads the tensors under the names, adds the ops string, runs. Builder errors:
 * ["BUILD_ERROR", code, text]; DAGRun errors: ["RUN_ERROR", code, text]; otherwise as the run
 * commands, outputs stored in <out_key>, <out_key>:1, ... */
static int DagRun_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 3 || (argc - 3) % 2) return RedisModule_WrongArity(ctx);
    RAI_DAGRunCtx *dag = RedisAI_DAGRunCtxCreate();
    if (!dag) return RedisModule_ReplyWithError(ctx, "ERR DAGRunCtxCreate returned NULL");
    for (int i = 3; i < argc; i += 2) {
        const char *why = NULL;
        RAI_Tensor *t = tensor_of_key(ctx, argv[i + 1], &why);
        if (!t) {
            RedisAI_DAGFree(dag);
            return RedisModule_ReplyWithError(ctx, why);
        }
        if (RedisAI_DAGLoadTensor(dag, RedisModule_StringPtrLen(argv[i], NULL), t) != REDISMODULE_OK) {
            RedisAI_DAGFree(dag);
            return RedisModule_ReplyWithError(ctx, "ERR DAGLoadTensor failed");
        }
    }
    RAI_Error *err;
    RedisAI_InitError(&err);
    if (RedisAI_DAGAddOpsFromString(dag, RedisModule_StringPtrLen(argv[1], NULL), err) != REDISMODULE_OK) {
        RedisModule_ReplyWithArray(ctx, 3);
        RedisModule_ReplyWithSimpleString(ctx, "BUILD_ERROR");
        RedisModule_ReplyWithLongLong(ctx, RedisAI_GetErrorCode(err));
        reply_text_or_empty(ctx, RedisAI_GetErrorOneLine(err));
        RedisAI_FreeError(err);
        RedisAI_DAGFree(dag);
        return REDISMODULE_OK;
    }
    RedisAI_FreeError(err);
    return dag_start(ctx, dag, argv[2]);
}

/* llapitest.dagrun_ops <model_key> <script_key> <fn> <out_key> <a_key>
 * DAG: LOAD a; TENSORSET b = [10 20 30 40] (FLOAT 2x2); c = model(a, b); d = script.fn(c, a);
 * TENSORGET c; TENSORGET d. Outputs: <out_key> = c, <out_key>:1 = d. NumOps must be 5. */
static int DagRunOps_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 6) return RedisModule_WrongArity(ctx);
    RAI_Error *err;
    RedisAI_InitError(&err);
    RAI_Model *model = NULL;
    RAI_Script *script = NULL;
    if (RedisAI_GetModelFromKeyspace(ctx, argv[1], &model, REDISMODULE_READ, err) != REDISMODULE_OK ||
        RedisAI_GetScriptFromKeyspace(ctx, argv[2], &script, REDISMODULE_READ, err) != REDISMODULE_OK) {
        RedisModule_ReplyWithError(ctx, RedisAI_GetErrorOneLine(err));
        RedisAI_FreeError(err);
        return REDISMODULE_OK;
    }
    const char *why = NULL;
    RAI_Tensor *a = tensor_of_key(ctx, argv[5], &why);
    if (!a) {
        RedisAI_FreeError(err);
        return RedisModule_ReplyWithError(ctx, why);
    }
    RAI_DAGRunCtx *dag = RedisAI_DAGRunCtxCreate();
#define DCHECK(cond)                                                                              \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            RedisAI_DAGFree(dag);                                                                 \
            RedisAI_FreeError(err);                                                               \
            return reply_fail(ctx, #cond, __LINE__);                                              \
        }                                                                                         \
    } while (0)
    DCHECK(dag != NULL);
    DCHECK(RedisAI_DAGNumOps(dag) == 0);
    DCHECK(RedisAI_DAGLoadTensor(dag, "a", a) == REDISMODULE_OK);
    DCHECK(RedisAI_DAGNumOps(dag) == 0);

    long long d22[2] = {2, 2};
    RAI_Tensor *b = RedisAI_TensorCreate("FLOAT", d22, 2);
    DCHECK(b != NULL);
    for (int i = 0; i < 4; i++) RedisAI_TensorSetValueFromDouble(b, i, 10.0 * (i + 1));
    int rc = RedisAI_DAGAddTensorSet(dag, "b", b);
    RedisAI_TensorFree(b); /* the DAG holds its own reference */
    DCHECK(rc == REDISMODULE_OK);
    DCHECK(RedisAI_DAGNumOps(dag) == 1);

    RAI_DAGRunOp *mop = RedisAI_DAGCreateModelRunOp(model);
    DCHECK(mop != NULL);
    DCHECK(RedisAI_DAGRunOpAddInput(mop, "a") == 1);
    DCHECK(RedisAI_DAGRunOpAddInput(mop, "b") == 1);
    DCHECK(RedisAI_DAGRunOpAddOutput(mop, "c") == 1);
    if (RedisAI_DAGAddRunOp(dag, mop, err) != REDISMODULE_OK) {
        RedisAI_DAGRunOpFree(mop);
        DCHECK(!"DAGAddRunOp(model op)");
    }
    DCHECK(RedisAI_DAGNumOps(dag) == 2);

    const char *fn = RedisModule_StringPtrLen(argv[3], NULL);
    RAI_DAGRunOp *sop = RedisAI_DAGCreateScriptRunOp(script, fn);
    DCHECK(sop != NULL);
    DCHECK(RedisAI_DAGRunOpAddInput(sop, "c") == 1);
    DCHECK(RedisAI_DAGRunOpAddInput(sop, "a") == 1);
    DCHECK(RedisAI_DAGRunOpAddOutput(sop, "d") == 1);
    if (RedisAI_DAGAddRunOp(dag, sop, err) != REDISMODULE_OK) {
        RedisAI_DAGRunOpFree(sop);
        DCHECK(!"DAGAddRunOp(script op)");
    }
    DCHECK(RedisAI_DAGNumOps(dag) == 3);
    DCHECK(RedisAI_DAGAddTensorGet(dag, "c") == REDISMODULE_OK);
    DCHECK(RedisAI_DAGAddTensorGet(dag, "d") == REDISMODULE_OK);
    DCHECK(RedisAI_DAGNumOps(dag) == 5);
#undef DCHECK
    RedisAI_FreeError(err);
    return dag_start(ctx, dag, argv[4]);
}

/* For DAGs expected to be refused by DAGRun: should one be accepted after all, its callback frees it. */
static void free_dag_cb(RAI_OnFinishCtx *fctx, void *private_data) {
    (void)fctx;
    RedisAI_DAGFree(private_data);
}

/* Runs a DAG that must be refused: replies [code, text] and frees it. */
static void reply_refused_run(RedisModuleCtx *ctx, RAI_DAGRunCtx *dag, RAI_Error *err) {
    if (RedisAI_DAGRun(dag, free_dag_cb, dag, err) == REDISMODULE_OK) {
        RedisModule_ReplyWithArray(ctx, 2);
        RedisModule_ReplyWithLongLong(ctx, 0);
        RedisModule_ReplyWithSimpleString(ctx, "DAGRun accepted the DAG");
        return;
    }
    reply_error_pair(ctx, err);
    RedisAI_DAGFree(dag);
}

/* llapitest.dag_errors <model_key> <a_key>: array of [code, text] for each builder error, then
 * the DAGLoadTensor results [first, second] and "freed". The model takes 2 inputs, 1 output. */
static int DagErrors_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 3) return RedisModule_WrongArity(ctx);
    RAI_Error *err;
    RedisAI_InitError(&err);
    RAI_Model *model = NULL;
    if (RedisAI_GetModelFromKeyspace(ctx, argv[1], &model, REDISMODULE_READ, err) != REDISMODULE_OK) {
        RedisModule_ReplyWithError(ctx, RedisAI_GetErrorOneLine(err));
        RedisAI_FreeError(err);
        return REDISMODULE_OK;
    }
    const char *why = NULL;
    RAI_Tensor *a = tensor_of_key(ctx, argv[2], &why);
    if (!a) {
        RedisAI_FreeError(err);
        return RedisModule_ReplyWithError(ctx, why);
    }
    RedisModule_ReplyWithArray(ctx, 9);

    /* 1. empty DAG */
    RAI_DAGRunCtx *dag = RedisAI_DAGRunCtxCreate();
    reply_refused_run(ctx, dag, err);
    RedisAI_ClearError(err);

    /* 2. an input never produced (TENSORGET of an unknown name) */
    dag = RedisAI_DAGRunCtxCreate();
    RedisAI_DAGLoadTensor(dag, "a", a);
    RedisAI_DAGAddTensorGet(dag, "never");
    reply_refused_run(ctx, dag, err);
    RedisAI_ClearError(err);

    /* 3. a model op whose input is never produced */
    dag = RedisAI_DAGRunCtxCreate();
    RedisAI_DAGLoadTensor(dag, "a", a);
    RAI_DAGRunOp *op = RedisAI_DAGCreateModelRunOp(model);
    RedisAI_DAGRunOpAddInput(op, "a");
    RedisAI_DAGRunOpAddInput(op, "nowhere");
    RedisAI_DAGRunOpAddOutput(op, "c");
    if (RedisAI_DAGAddRunOp(dag, op, err) != REDISMODULE_OK) {
        RedisAI_DAGRunOpFree(op);
        reply_error_pair(ctx, err); /* unexpected: counts are right */
        RedisAI_DAGFree(dag);
    } else {
        reply_refused_run(ctx, dag, err);
    }
    RedisAI_ClearError(err);

    /* 4. wrong number of inputs */
    dag = RedisAI_DAGRunCtxCreate();
    op = RedisAI_DAGCreateModelRunOp(model);
    RedisAI_DAGRunOpAddInput(op, "a");
    RedisAI_DAGRunOpAddOutput(op, "c");
    if (RedisAI_DAGAddRunOp(dag, op, err) != REDISMODULE_OK) RedisAI_DAGRunOpFree(op);
    reply_error_pair(ctx, err);
    RedisAI_DAGFree(dag);
    RedisAI_ClearError(err);

    /* 5. wrong number of outputs */
    dag = RedisAI_DAGRunCtxCreate();
    op = RedisAI_DAGCreateModelRunOp(model);
    RedisAI_DAGRunOpAddInput(op, "a");
    RedisAI_DAGRunOpAddInput(op, "b");
    RedisAI_DAGRunOpAddOutput(op, "c");
    RedisAI_DAGRunOpAddOutput(op, "d");
    if (RedisAI_DAGAddRunOp(dag, op, err) != REDISMODULE_OK) RedisAI_DAGRunOpFree(op);
    reply_error_pair(ctx, err);
    RedisAI_DAGFree(dag);
    RedisAI_ClearError(err);

    /* 6. ops string without a leading |> */
    dag = RedisAI_DAGRunCtxCreate();
    RedisAI_DAGAddOpsFromString(dag, "AI.TENSORSET x FLOAT 1 VALUES 1", err);
    reply_error_pair(ctx, err);
    RedisAI_DAGFree(dag);
    RedisAI_ClearError(err);

    /* 7. an unsupported op inside the string */
    dag = RedisAI_DAGRunCtxCreate();
    RedisAI_DAGAddOpsFromString(dag, "|> AI.TENSORSET x FLOAT 1 VALUES 1 |> AI.NOPE x", err);
    reply_error_pair(ctx, err);
    RedisAI_DAGFree(dag);
    RedisAI_ClearError(err);

    /* 8. DAGLoadTensor twice under one name */
    dag = RedisAI_DAGRunCtxCreate();
    int first = RedisAI_DAGLoadTensor(dag, "x", a);
    int second = RedisAI_DAGLoadTensor(dag, "x", a);
    RedisAI_DAGFree(dag);
    RedisModule_ReplyWithArray(ctx, 2);
    RedisModule_ReplyWithLongLong(ctx, first);
    RedisModule_ReplyWithLongLong(ctx, second);

    /* 9. ops never added to a DAG are freed by DAGRunOpFree */
    op = RedisAI_DAGCreateModelRunOp(model);
    RedisAI_DAGRunOpAddInput(op, "a");
    RedisAI_DAGRunOpAddOutput(op, "c");
    RedisAI_DAGRunOpFree(op);
    RAI_DAGRunOp *op2 = RedisAI_DAGCreateModelRunOp(model);
    RedisAI_DAGRunOpFree(op2);
    RedisModule_ReplyWithSimpleString(ctx, "freed");

    RedisAI_FreeError(err);
    return REDISMODULE_OK;
}

/* ------------------------------------------------------------------------------------------------
 * llapitest.errors <empty_key> <string_key> <tensor_key>
 * Replies an array of [code, text] pairs (see the Python test for the order) plus checks. */
static int Errors_Cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 4) return RedisModule_WrongArity(ctx);
    RAI_Error *err = NULL;
    CHECK(RedisAI_InitError(&err) == REDISMODULE_OK);
    CHECK(err != NULL);
    CHECK(RedisAI_GetErrorCode(err) == RAI_OK);

    RAI_Model *model = (RAI_Model *)0x1;
    RAI_Script *script = (RAI_Script *)0x1;
    int r_model_empty = RedisAI_GetModelFromKeyspace(ctx, argv[1], &model, REDISMODULE_READ, err);
    CHECK(r_model_empty == REDISMODULE_ERR);
    RAI_ErrorCode c1 = RedisAI_GetErrorCode(err);
    char *t1 = RedisModule_Strdup(err_text(err));

    /* CloneError into an empty error */
    RAI_Error *clone;
    CHECK(RedisAI_InitError(&clone) == REDISMODULE_OK);
    RedisAI_CloneError(clone, err);
    int clone_ok = RedisAI_GetErrorCode(clone) == c1 && strcmp(err_text(clone), t1) == 0;
    RedisAI_FreeError(clone);

    RedisAI_ClearError(err);
    int cleared_ok = RedisAI_GetErrorCode(err) == RAI_OK;

    CHECK(RedisAI_GetModelFromKeyspace(ctx, argv[2], &model, REDISMODULE_READ, err) == REDISMODULE_ERR);
    RAI_ErrorCode c2 = RedisAI_GetErrorCode(err);
    char *t2 = RedisModule_Strdup(err_text(err));
    RedisAI_ClearError(err);
    CHECK(RedisAI_GetModelFromKeyspace(ctx, argv[3], &model, REDISMODULE_READ, err) == REDISMODULE_ERR);
    RAI_ErrorCode c3 = RedisAI_GetErrorCode(err);
    char *t3 = RedisModule_Strdup(err_text(err));
    RedisAI_ClearError(err);

    CHECK(RedisAI_GetScriptFromKeyspace(ctx, argv[1], &script, REDISMODULE_READ, err) == REDISMODULE_ERR);
    RAI_ErrorCode c4 = RedisAI_GetErrorCode(err);
    char *t4 = RedisModule_Strdup(err_text(err));
    RedisAI_ClearError(err);
    CHECK(RedisAI_GetScriptFromKeyspace(ctx, argv[2], &script, REDISMODULE_READ, err) == REDISMODULE_ERR);
    RAI_ErrorCode c5 = RedisAI_GetErrorCode(err);
    char *t5 = RedisModule_Strdup(err_text(err));
    RedisAI_ClearError(err);

    /* A multi-line message: TorchScript's compiler error for a bad script. */
    RAI_Script *bad = RedisAI_ScriptCreate("CPU", NULL, "def f(a):\n    return a +\n", err);
    CHECK(bad == NULL);
    RAI_ErrorCode c6 = RedisAI_GetErrorCode(err);
    char *full = RedisModule_Strdup(err_text(err));
    const char *one = RedisAI_GetErrorOneLine(err);
    int oneline_ok = one != NULL && strlen(one) == strlen(full);
    if (oneline_ok) {
        for (size_t i = 0; full[i]; i++) {
            char expect = (full[i] == '\n' || full[i] == '\r') ? ' ' : full[i];
            if (one[i] != expect) oneline_ok = 0;
        }
    }
    int has_newline = strchr(full, '\n') != NULL;
    RAI_Error *clone2;
    RedisAI_InitError(&clone2);
    RedisAI_CloneError(clone2, err);
    int clone2_ok = RedisAI_GetErrorCode(clone2) == c6 && strcmp(err_text(clone2), full) == 0;
    RedisAI_FreeError(clone2);
    RedisAI_FreeError(err);

    RedisModule_ReplyWithArray(ctx, 12);
    RedisModule_ReplyWithArray(ctx, 2);
    RedisModule_ReplyWithLongLong(ctx, c1);
    reply_text_or_empty(ctx, t1);
    RedisModule_ReplyWithArray(ctx, 2);
    RedisModule_ReplyWithLongLong(ctx, c2);
    reply_text_or_empty(ctx, t2);
    RedisModule_ReplyWithArray(ctx, 2);
    RedisModule_ReplyWithLongLong(ctx, c3);
    reply_text_or_empty(ctx, t3);
    RedisModule_ReplyWithArray(ctx, 2);
    RedisModule_ReplyWithLongLong(ctx, c4);
    reply_text_or_empty(ctx, t4);
    RedisModule_ReplyWithArray(ctx, 2);
    RedisModule_ReplyWithLongLong(ctx, c5);
    reply_text_or_empty(ctx, t5);
    RedisModule_ReplyWithArray(ctx, 2);
    RedisModule_ReplyWithLongLong(ctx, c6);
    reply_text_or_empty(ctx, full);
    RedisModule_ReplyWithLongLong(ctx, clone_ok);
    RedisModule_ReplyWithLongLong(ctx, cleared_ok);
    RedisModule_ReplyWithLongLong(ctx, oneline_ok);
    RedisModule_ReplyWithLongLong(ctx, has_newline);
    RedisModule_ReplyWithLongLong(ctx, clone2_ok);
    RedisModule_ReplyWithLongLong(ctx, model == (RAI_Model *)0x1 || model == NULL);
    RedisModule_Free(t1);
    RedisModule_Free(t2);
    RedisModule_Free(t3);
    RedisModule_Free(t4);
    RedisModule_Free(t5);
    RedisModule_Free(full);
    return REDISMODULE_OK;
}

/* ------------------------------------------------------------------------------------------------ */

int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv;
    (void)argc;
    if (RedisModule_Init(ctx, "llapitest", 1, REDISMODULE_APIVER_1) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    main_thread = pthread_self();
    if (RedisAI_Initialize(ctx) != REDISMODULE_OK) {
        RedisModule_Log(ctx, "warning", "llapitest: RedisAI low-level API not available");
        return REDISMODULE_ERR;
    }
    static const struct {
        const char *name;
        RedisModuleCmdFunc fn;
        const char *flags;
    } cmds[] = {
        {"llapitest.version", Version_Cmd, "readonly fast"},
        {"llapitest.tensor", Tensor_Cmd, "write deny-oom"},
        {"llapitest.modelrun", ModelRun_Cmd, "write deny-oom"},
        {"llapitest.modelrun_sync", ModelRunSync_Cmd, "write deny-oom"},
        {"llapitest.modelrun_batch", ModelRunBatch_Cmd, "write deny-oom"},
        {"llapitest.modelrun_none", ModelRunNone_Cmd, "readonly"},
        {"llapitest.modelcreate", ModelCreate_Cmd, "write deny-oom"},
        {"llapitest.scriptcreate", ScriptCreate_Cmd, "write deny-oom"},
        {"llapitest.scriptrun", ScriptRun_Cmd, "write deny-oom"},
        {"llapitest.dagrun", DagRun_Cmd, "write deny-oom"},
        {"llapitest.dagrun_ops", DagRunOps_Cmd, "write deny-oom"},
        {"llapitest.dag_errors", DagErrors_Cmd, "readonly"},
        {"llapitest.errors", Errors_Cmd, "readonly"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (RedisModule_CreateCommand(ctx, cmds[i].name, cmds[i].fn, cmds[i].flags, 0, 0, 0) ==
            REDISMODULE_ERR)
            return REDISMODULE_ERR;
    return REDISMODULE_OK;
}
