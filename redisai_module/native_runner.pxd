# How a backend's native code runs a loaded model or script with no GIL (src/native_runner.h).
cdef extern from "native_runner.h" nogil:
    const char *RAI_NATIVE_RUNNER_CAPSULE
    const char *RAI_SCRIPT_HOOKS_CAPSULE
    int RAI_NATIVE_FAILED
    int RAI_NATIVE_STRING_INPUT
    int RAI_NATIVE_TEXT_NOT_UTF8

    ctypedef struct RaiNativeModelCall:
        size_t nmembers
        size_t ninputs
        const void *const *inputs
        size_t noutputs
        void **outputs
        char *error

    ctypedef struct RaiNativeScriptCall:
        const char *function
        int entry_point
        size_t ninputs
        const void *const *inputs
        size_t nkeys
        const char *const *keys
        size_t nargs
        const char *const *args
        size_t noutputs
        void **outputs
        char *error

    ctypedef struct RaiNativeRunner:
        int (*run_model)(const RaiNativeRunner *runner, RaiNativeModelCall *call) noexcept nogil
        int (*run_script)(const RaiNativeRunner *runner, RaiNativeScriptCall *call) noexcept nogil

    ctypedef struct RaiScriptHooks:
        const char *redis_error_prefix
        void *(*redis_call)(const char *const *argv, const size_t *lens, int argc, char **error) noexcept nogil
        int (*reply_type)(void *reply) noexcept nogil
        long long (*reply_integer)(void *reply) noexcept nogil
        const char *(*reply_string)(void *reply, size_t *len) noexcept nogil
        size_t (*reply_length)(void *reply) noexcept nogil
        void *(*reply_element)(void *reply, size_t index) noexcept nogil
        void (*reply_free)(void *reply) noexcept nogil
        int (*model_execute)(const char *key, size_t key_len, const void *const *inputs, size_t ninputs,
                             size_t noutputs, void ***outputs, char **error) noexcept nogil
