"""TORCH: TorchScript modules (torch.jit.save archives), torch.export archives (torch.export.save,
read without unpickling: torch_export.py) and scripts, CPU and CUDA."""
import io

from redisai_module import errors
from redisai_module.backends.common import BackendError, is_utf8, parse_device
from redisai_module.backends.torch_export import is_export_archive, load_export_archive


class TorchBackend:
    name = "TORCH"
    version = "NA"  # INFO: Torch_version, as RedisAI shows it (docs/CONFIG.md §4)

    def __init__(self, host):
        import torch  # 1-1.6 s: only when the first TORCH model arrives
        from redisai_module.backends import torch_native  # the run path (torch_native.pyx)
        if torch.__version__.split("+")[0] != torch_native.BUILT_AGAINST:
            raise ImportError(f"the module was built against torch {torch_native.BUILT_AGAINST} but "
                              f"torch {torch.__version__} is installed: rebuild it (opt/setup.sh)")
        self.torch = torch
        self.native = torch_native
        config = host.config
        # Process-wide torch settings: set once, before any parallel work starts.
        if config.intra_op_parallelism:
            torch.set_num_threads(config.intra_op_parallelism)
        if config.inter_op_parallelism:
            torch.set_num_interop_threads(config.inter_op_parallelism)
        # redis.execute, redis.asList, redisAI.model_execute: C++ kernels (torch_script_ops.hpp)
        # calling back into the core (execution/script_extensions.pyx)
        torch_native.attach_script_hooks(host.script_hooks)
        # Names in script sources resolve to torch, redis and redisAI, in any case (docs/BEHAVIOUR.md
        # §9.1); there is no Python frame to look into here.
        names = {"torch": torch, "redis": torch.ops.redis, "redisai": torch.ops.redisAI}
        self._script_names = lambda name: names.get(name.lower())

    def _device(self, device):
        kind, index = parse_device(device)
        if kind == "CPU":
            return "cpu"
        if not self.torch.cuda.is_available() or index >= self.torch.cuda.device_count():
            raise BackendError("GPU requested but Torch couldn't find CUDA")
        return f"cuda:{index}"

    def _output_count(self, schema):
        """Outputs declared by forward's return type: Tensor 1, Tuple its Tensor elements."""
        kinds = self.torch._C
        count = 0
        for ret in schema.returns:
            t = ret.type
            if isinstance(t, kinds.TensorType):
                count += 1
            elif isinstance(t, kinds.TupleType):
                count += sum(isinstance(e, kinds.TensorType) for e in t.elements())
            elif isinstance(t, kinds.ListType):
                raise BackendError("Erorr while trying to retrive model outputs number: "
                                   "a List return type has no fixed number of outputs")
        return count

    def create(self, blob, device, inputs, outputs):
        dev = self._device(device)
        if is_export_archive(blob):
            module = load_export_archive(self.torch, blob, dev)
        else:
            module = self.torch.jit.load(io.BytesIO(blob), map_location=dev)
        module.eval()
        schema = module.forward.schema
        input_names = [arg.name for arg in schema.arguments[1:]]  # self excluded
        handle = (module, dev, self.native.model_runner(module, dev))
        return handle, input_names, [""] * self._output_count(schema)

    def memory_bytes(self, handle):
        """Bytes of the model's parameters and buffers (what torch holds for it)."""
        module = handle[0]
        return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))

    def native_runner(self, handle):
        """What workers run the model or script through, with no GIL (the handle keeps it)."""
        return handle[2]

    def compile_script(self, source, device, entry_points):
        """A TorchScript compilation unit; each entry point must take
        (tensors: List[Tensor], keys: List[str], args: List[str]) (docs/COMMANDS.md §6.1)."""
        dev = self._device(device)
        if not is_utf8(source):
            raise BackendError(errors.SCRIPT_SOURCE_UTF8)
        unit = self.torch._C.CompilationUnit()
        try:
            unit.define(source, self._script_names)
        except UnicodeDecodeError as e:
            # TorchScript's lexer refuses non-ASCII names, quoting the first byte of the character
            # alone: its message does not decode (a codec error reached the client)
            raise BackendError(errors.SCRIPT_NOT_ASCII + e.object.decode("utf-8", "replace")) from None
        for name in entry_points:
            function = unit.find_function(name) if is_utf8(name) else None
            if function is None:
                raise BackendError(f"Function {name} does not exist in the given script.")
            params = function.schema.arguments
            if len(params) != 3:
                raise BackendError(f"Wrong number of inputs in function {name}. Expected 3 but was {len(params)}")
            if [str(p.type) for p in params] != ["List[Tensor]", "List[str]", "List[str]"]:
                raise BackendError(f"Wrong inputs type in function {name}. Expected signature similar to: "
                                   f"def {name}(tensors: List[Tensor], keys: List[str], args: List[str])")
        return unit, dev, self.native.script_runner(unit, dev)
