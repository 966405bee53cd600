# The backend table's rows (backend_table.pyx reads them): declarations, included by objects.pxd
# because other rooms read the rows too.
from redisai_module.objects.model cimport RAI_BACKEND_ONNX

cdef extern from *:
    """
    typedef struct {
        const char *name;              /* as commands spell it (any case) and replies show it */
        const char *library;           /* RedisAI's library file, which a LOADBACKEND path ends in */
        const char *version_field;     /* INFO backends_info: <field>:<adapter's version>, once loaded */
        int info_allocator_fields;     /* INFO also shows the module allocator's counters */
        int names_at_store;            /* inputs/outputs are named at store (and kept, and written to
                                        * AOF); other backends' come from the loaded model */
        int batches;                   /* AI.MODELSET accepts BATCHSIZE */
        int batch_skips_scalars;       /* a batch's 0-d outputs stay out of the split (docs/BEHAVIOUR.md §4.6) */
        const char *batch_size_error;  /* a batch's output whose dim 0 is not the batch's rows */
        const char *string_inputs_error; /* STRING inputs are refused with this, before the run */
        int llapi_runs_anywhere;       /* the LLAPI may run it on the caller's thread (ONNX's timeout
                                        * watches RedisAI's workers only) */
        /* The adapter, built on first use as <module>.<class>(host) (backends/registry.pyx): a
         * module of the Python package redisai_module.backends today. "redisai_core" names the
         * core itself, whose cdef class may implement the same protocol on a framework's C/C++
         * API, releasing the GIL inside its calls. */
        const char *adapter_module;
        const char *adapter_class;
    } RaiBackend;

    static const RaiBackend rai_backend_table[] = {
        [0] = {  /* RAI_BACKEND_TF */
            .name = "TF", .library = "redisai_tensorflow.so", .version_field = "TensorFlow_version",
            .names_at_store = 1, .batches = 1, .batch_skips_scalars = 1,
            .batch_size_error = RAI_ERR_TF_BATCH_SIZE,
            .llapi_runs_anywhere = 1,
            .adapter_module = "redisai_module.backends.tf_backend", .adapter_class = "TFBackend"},
        [1] = {  /* RAI_BACKEND_TFLITE */
            .name = "TFLITE", .library = "redisai_tflite.so", .version_field = "TensorFlowLite_version",
            .batch_size_error = RAI_ERR_BATCH_SIZE, .llapi_runs_anywhere = 1,
            .adapter_module = "redisai_module.backends.tflite_backend", .adapter_class = "TFLiteBackend"},
        [2] = {  /* RAI_BACKEND_TORCH */
            .name = "TORCH", .library = "redisai_torch.so", .version_field = "Torch_version",
            .batches = 1, .batch_size_error = RAI_ERR_BATCH_SIZE, .llapi_runs_anywhere = 1,
            .string_inputs_error = RAI_ERR_TORCH_STRING_INPUT,
            .adapter_module = "redisai_module.backends.torch_backend", .adapter_class = "TorchBackend"},
        [3] = {  /* RAI_BACKEND_ONNX */
            .name = "ONNX", .library = "redisai_onnxruntime.so", .version_field = "onnxruntime_version",
            .info_allocator_fields = 1, .batches = 1, .batch_size_error = RAI_ERR_BATCH_SIZE,
            .adapter_module = "redisai_module.backends.onnx_backend", .adapter_class = "OnnxBackend"},
    };
    """
    ctypedef struct Backend "RaiBackend":
        const char *name
        const char *library
        const char *version_field
        bint info_allocator_fields
        bint names_at_store
        bint batches
        bint batch_skips_scalars
        const char *batch_size_error
        const char *string_inputs_error
        bint llapi_runs_anywhere
        const char *adapter_module
        const char *adapter_class

    const Backend backend_table "rai_backend_table"[]

cdef enum:
    N_BACKENDS = RAI_BACKEND_ONNX + 1
