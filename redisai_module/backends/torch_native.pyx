# distutils: language = c++
# The TORCH adapter's native half (a Python extension built against the pinned torch wheel's
# headers and libraries, setup.py): it turns a loaded TorchScript module or compiled script into a
# runner the core calls on its workers with no GIL (src/native_runner.h, torch_native.hpp).
from cpython.pycapsule cimport PyCapsule_New, PyCapsule_GetPointer
from cpython.ref cimport PyObject
from libcpp.string cimport string

cdef extern from "native_runner.h":
    ctypedef struct RaiNativeRunner:
        pass
    ctypedef struct RaiScriptHooks:
        pass
    const char *RAI_NATIVE_RUNNER_CAPSULE
    const char *RAI_SCRIPT_HOOKS_CAPSULE

cdef extern from "torch_native.hpp" namespace "rai_torch":
    cppclass ModelRunner:
        RaiNativeRunner base
    ModelRunner *new_model_runner "rai_torch::model_runner"(PyObject *script_module, const string &device) except +
    cppclass ScriptRunner:
        RaiNativeRunner base
    ScriptRunner *new_script_runner "rai_torch::script_runner"(PyObject *unit, const string &device) except +

cdef extern from "torch_script_ops.hpp" namespace "rai_torch":
    const RaiScriptHooks *script_hooks

cdef extern from "<torch/version.h>":
    const char *TORCH_VERSION  # the headers this was built against


BUILT_AGAINST = TORCH_VERSION.decode()


def attach_script_hooks(capsule):
    """What the script ops call back into (the core's, given once, before any script compiles)."""
    global script_hooks
    script_hooks = <const RaiScriptHooks *>PyCapsule_GetPointer(capsule, RAI_SCRIPT_HOOKS_CAPSULE)


cdef void _free_model_runner(object capsule) noexcept:
    cdef ModelRunner *runner = <ModelRunner *>PyCapsule_GetPointer(capsule, RAI_NATIVE_RUNNER_CAPSULE)
    del runner


def model_runner(script_module, str device):
    """The runner of a torch.jit.ScriptModule on `device` ("cpu", "cuda:N"): a capsule the
    adapter's handle keeps; the module is shared, not copied."""
    cdef ModelRunner *runner = new_model_runner(<PyObject *>script_module, device.encode())
    return PyCapsule_New(&runner.base, RAI_NATIVE_RUNNER_CAPSULE, _free_model_runner)


cdef void _free_script_runner(object capsule) noexcept:
    cdef ScriptRunner *runner = <ScriptRunner *>PyCapsule_GetPointer(capsule, RAI_NATIVE_RUNNER_CAPSULE)
    del runner


def script_runner(compilation_unit, str device):
    """The runner of a compiled script (a torch._C.CompilationUnit) whose tensors go to `device`."""
    cdef ScriptRunner *runner = new_script_runner(<PyObject *>compilation_unit, device.encode())
    return PyCapsule_New(&runner.base, RAI_NATIVE_RUNNER_CAPSULE, _free_script_runner)
