"""The backend adapters that are plain Python: one module per framework, imported by the embedded
interpreter when the first model of its backend arrives. At load the module puts the checkout
holding this package on sys.path: the one around install/redisai.so, else the one it was built
from (src/python_embed.c). Edit, restart the server: no rebuild.

An adapter is a class built as Adapter(host), where host is what the core lends it
(backends/adapter_host.pyx; tests pass a stand-in):
    host.config      intra_op_parallelism, inter_op_parallelism, model_execution_timeout,
                     backend_memory_limit (the module's load-time configuration)
    host.messages    the client-visible text the C++ allocator keeps (src/onnx_allocator.h); all
                     others are in the table redisai_module/errors.py, which adapters import
    host.TensorView, host.is_string_array    the stored-tensor view inputs arrive as; STRING arrays
    host.onnx_allocator                      the module's allocator for ONNX sessions on CPU
    host.script_hooks    what TorchScript's script ops call back into the core with (a capsule)
and that offers:
    name, version    the backend's name and the framework version INFO shows ("NA": none)
    create(blob: bytes, device: str, inputs: list[str], outputs: list[str])
        -> (handle, input_names, output_names)       raises on a bad model or device
    run(handle, inputs: list) -> list                one array per output (None: not a tensor)
    native_runner(handle) -> capsule, optional       what workers call instead of run, with no GIL
                                                     (src/native_runner.h)
    memory_bytes(handle) -> int, optional            bytes the framework holds for the model
                                                     (INFO ai_runnables, AI.STATS)
TORCH also compiles scripts (compile_script), and runs models and scripts only natively.
Inputs reach the framework zero-copy through DLPack, read-only (torch, which has no read-only
tensors, gets private copies); outputs are copied into Redis memory by the core.
"""
