"""TORCH: TorchScript modules (torch.jit.save archives) and scripts, CPU and CUDA."""
import io

from redisai_module import errors
from redisai_module.backends.common import BackendError, is_utf8, parse_device


class TorchBackend:
    name = "TORCH"
    version = "NA"  # INFO: Torch_version, as RedisAI shows it (docs/CONFIG.md §4)

    def __init__(self, host):
        import torch  # 1-1.6 s: only when the first TORCH model arrives
        self.torch = torch
        self.TensorView = host.TensorView
        self.is_string_array = host.is_string_array
        config = host.config
        # Process-wide torch settings: set once, before any parallel work starts.
        if config.intra_op_parallelism:
            torch.set_num_threads(config.intra_op_parallelism)
        if config.inter_op_parallelism:
            torch.set_num_interop_threads(config.inter_op_parallelism)
        # redis.execute, redis.asList, redisAI.model_execute: the core's (execution/script_extensions.pyx)
        self._script_ops, self._script_names = host.torch_script_ops(torch)

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
        module = self.torch.jit.load(io.BytesIO(blob), map_location=dev)
        module.eval()
        schema = module.forward.schema
        input_names = [arg.name for arg in schema.arguments[1:]]  # self excluded
        return (module, dev), input_names, [""] * self._output_count(schema)

    def _private(self, x, dev):
        """A tensor torch may write into: stored data (a TensorView) is always copied, to the
        device or by a clone, so a model or script that writes into its inputs in place never
        changes a stored value (or a DAG's tensor). Other inputs (batches) are already private."""
        t = self.torch.from_dlpack(x)
        if dev != "cpu":
            return t.to(dev)
        return t.clone() if isinstance(x, self.TensorView) else t

    def compile_script(self, source, device, entry_points):
        """A TorchScript compilation unit; each entry point must take
        (tensors: List[Tensor], keys: List[str], args: List[str]) (docs/COMMANDS.md §6.1)."""
        dev = self._device(device)
        # Names resolve explicitly to torch, redis and redisAI (docs/BEHAVIOUR.md §9.1); there is no
        # Python frame to look into here.
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
        return unit, dev

    def _legacy_arguments(self, function, name, tensors):
        """Parameters filled left to right: Tensor takes the next input, List[Tensor] takes all
        the remaining ones; surplus inputs are ignored (docs/BEHAVIOUR.md §9.3)."""
        params = function.schema.arguments
        if len(params) > len(tensors):
            raise BackendError(f"Wrong number of inputs provided to function: {name}")
        arguments, taken = [], 0
        for param in params:
            kind = str(param.type)
            if kind == "Tensor":
                arguments.append(tensors[taken])
                taken += 1
            elif kind == "List[Tensor]":
                arguments.append(tensors[taken:])
                break
            else:
                raise BackendError(f"Unsupported input type in function definition: {name}")
        return arguments

    def _script_outputs(self, result, name, noutputs):
        """A Tensor, or a list/tuple of Tensors, checked against the OUTPUTS count (§9.4)."""
        torch = self.torch
        if noutputs == 0:
            return []
        values = [result] if isinstance(result, torch.Tensor) else result
        if not isinstance(values, (list, tuple)) or not all(isinstance(v, torch.Tensor) for v in values):
            raise BackendError(f"Function returned non-tensor values{name}")
        if len(values) != noutputs:
            raise BackendError(f"Function returned unexpected number of outputs - {name}")
        return [v.contiguous().cpu() for v in values]

    def _torch_inputs(self, inputs, dev):
        """Private torch tensors on `dev`; STRING tensors (numpy object arrays) have no torch form."""
        if any(self.is_string_array(view) for view in inputs):
            raise BackendError(errors.TORCH_STRING_INPUT)
        return [self._private(x, dev) for x in inputs]

    def run_script(self, handle, name, inputs, keys, args, entry_points, noutputs):
        unit, dev = handle
        torch = self.torch
        function = unit.find_function(name) if is_utf8(name) else None
        if function is None:
            raise BackendError(f"Function does not exist: {name}")
        if not all(is_utf8(text) for text in keys + args):
            raise BackendError(errors.SCRIPT_KEYS_ARGS_UTF8)
        tensors = self._torch_inputs(inputs, dev)
        with torch.inference_mode():
            if name in entry_points:
                result = function(tensors, keys, args)
            else:
                result = function(*self._legacy_arguments(function, name, tensors))
        return self._script_outputs(result, name, noutputs)

    def run(self, handle, inputs):
        module, dev = handle
        torch = self.torch
        with torch.inference_mode():
            args = self._torch_inputs(inputs, dev)
            result = module(*args)
        if isinstance(result, torch.Tensor):
            result = (result,)
        outputs = []
        for value in result:
            if not isinstance(value, torch.Tensor):
                raise BackendError("Model did not return tensors")
            if value.device.type != "cpu" or not value.is_contiguous():
                value = value.contiguous().cpu()
            outputs.append(value)
        return outputs
