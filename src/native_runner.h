/* The C interface between the core and a backend's native code (a C++ extension built against
 * the framework's own C++ API, such as redisai_module/backends/torch_native.pyx), so that a worker
 * runs a loaded model or script without the GIL (docs/EMBEDDING.md, "The native run path").
 *
 * An adapter hands the core a RaiNativeRunner for each loaded model or script, in a PyCapsule
 * named RAI_NATIVE_RUNNER_CAPSULE that the adapter's handle keeps alive: the core reads the
 * pointer once, under the GIL, and calls it on workers with no GIL for as long as it holds the
 * handle. The runner never calls Python; a script's Redis calls come back through RaiScriptHooks.
 *
 * Tensors cross as DLPack structs (the published ABI), declared void * here because the core and
 * the framework each bring their own dlpack.h: inputs are DLTensor * borrowed for the call (CPU,
 * row-major, read-only: stored values), outputs are DLManagedTensor * owned by the receiver, which
 * calls their deleter. Errors are malloc'd text, freed by the receiver with free(). */
#ifndef RAI_NATIVE_RUNNER_H
#define RAI_NATIVE_RUNNER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RAI_NATIVE_RUNNER_CAPSULE "redisai.native_runner"
#define RAI_SCRIPT_HOOKS_CAPSULE "redisai.script_hooks"

typedef struct RaiNativeModelCall {
    size_t nmembers;            /* requests run as one batch (1: not batched) */
    size_t ninputs;             /* per member */
    const void *const *inputs;  /* DLTensor *, nmembers * ninputs, member-major */
    size_t noutputs;            /* out: as many as the model gave */
    void **outputs;             /* out: malloc'd, DLManagedTensor * each, CPU, row-major; for a
                                 * batch, whole (the core splits them by the members' rows) */
    char *error;                /* out: on failure (then no outputs) */
} RaiNativeModelCall;

typedef struct RaiNativeScriptCall {
    const char *function;
    int entry_point;            /* one of the script's entry points: f(tensors, keys, args);
                                 * otherwise the legacy convention (docs/BEHAVIOUR.md §9.3) */
    size_t ninputs;
    const void *const *inputs;  /* DLTensor * */
    size_t nkeys;
    const char *const *keys;
    size_t nargs;
    const char *const *args;
    size_t noutputs;            /* the OUTPUTS count */
    void **outputs;             /* out: malloc'd, noutputs DLManagedTensor * */
    char *error;                /* out */
} RaiNativeScriptCall;

/* What a runner returns: 0, or a failure whose text is the call's error or, for the two the core
 * words (its error table), the code alone. */
#define RAI_NATIVE_FAILED -1
#define RAI_NATIVE_STRING_INPUT -2  /* an input is a STRING tensor the framework cannot take */
#define RAI_NATIVE_TEXT_NOT_UTF8 -3 /* a script's KEYS or ARGS are not UTF-8 */

typedef struct RaiNativeRunner RaiNativeRunner;
struct RaiNativeRunner {
    int (*run_model)(const RaiNativeRunner *runner, RaiNativeModelCall *call);
    int (*run_script)(const RaiNativeRunner *runner, RaiNativeScriptCall *call);
};

/* What a script's ops (redis.execute, redisAI.model_execute) need of the core, on the worker
 * running the script, as the client that sent the command. Given once by the core to the native
 * code in a PyCapsule named RAI_SCRIPT_HOOKS_CAPSULE. */
typedef struct RaiScriptHooks {
    const char *redis_error_prefix;  /* before the text of an error reply a script sees */
    /* redis.execute: a RedisModuleCallReply *, or NULL with *error set (the whole text) */
    void *(*redis_call)(const char *const *argv, const size_t *lens, int argc, char **error);
    int (*reply_type)(void *reply);  /* REDISMODULE_REPLY_*: string 0, error 1, integer 2, array 3,
                                      * null 4 (redismodule.h's values) */
    long long (*reply_integer)(void *reply);
    const char *(*reply_string)(void *reply, size_t *len);
    size_t (*reply_length)(void *reply);
    void *(*reply_element)(void *reply, size_t index);
    void (*reply_free)(void *reply);
    /* redisAI.model_execute: runs the model stored at key (any backend) on this thread; 0 with
     * *outputs a malloc'd array of noutputs DLManagedTensor *, or -1 with *error set (a count
     * the model cannot give is refused before anything is allocated) */
    int (*model_execute)(const char *key, size_t key_len, const void *const *inputs, size_t ninputs,
                         size_t noutputs, void ***outputs, char **error);
} RaiScriptHooks;

#ifdef __cplusplus
}
#endif

#endif
