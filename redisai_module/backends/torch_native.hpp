// The TORCH backend's run path on libtorch's C++ API (src/native_runner.h): models and scripts,
// loaded or compiled by the Python adapter (torch_backend.py), run here with no GIL. Every
// client-visible text matches what the Python path gave (docs/BEHAVIOUR.md §9).
#pragma once
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <ATen/DLConvertor.h>
#include <ATen/Parallel.h>
#include <torch/csrc/jit/python/module_python.h>
#include <torch/script.h>

#include "native_runner.h"

namespace rai_torch {

namespace py = pybind11;

inline char *malloc_text(const std::string &text) {
    char *out = static_cast<char *>(std::malloc(text.size() + 1));
    std::memcpy(out, text.c_str(), text.size() + 1);
    return out;
}

// Failures the core words itself (src/native_runner.h): thrown, caught by `guarded`.
struct CoreWorded {
    int code;
};

constexpr uint8_t kDLStringCode = 7;  // RedisAI's code for STRING tensors (not in dlpack.h)

// A stored tensor (borrowed for the call) as a torch tensor on `device` that torch may write
// into: always a copy, so a model writing into its inputs never changes a stored value.
inline at::Tensor private_input(const void *input, const c10::Device &device) {
    const DLTensor *dl = static_cast<const DLTensor *>(input);
    if (dl->dtype.code == kDLStringCode)
        throw CoreWorded{RAI_NATIVE_STRING_INPUT};
    std::vector<int64_t> sizes(dl->shape, dl->shape + dl->ndim);
    at::Tensor view = at::from_blob(static_cast<char *>(dl->data) + dl->byte_offset, sizes,
                                    at::TensorOptions().dtype(at::toScalarType(dl->dtype)));
    return device.is_cpu() ? view.clone() : view.to(device);
}

// One input of a batch: the members' tensors concatenated along dim 0, then moved to the device
// once (one host-to-device copy per batch).
inline at::Tensor batched_input(const RaiNativeModelCall *call, size_t input, const c10::Device &device) {
    if (call->nmembers == 1)
        return private_input(call->inputs[input], device);
    std::vector<at::Tensor> parts;
    parts.reserve(call->nmembers);
    for (size_t j = 0; j < call->nmembers; j++)
        parts.push_back(private_input(call->inputs[j * call->ninputs + input], c10::Device(c10::kCPU)));
    at::Tensor whole = at::cat(parts, 0);
    return device.is_cpu() ? whole : whole.to(device);
}

// Outputs for the core: CPU, row-major, owned through their DLPack deleter.
inline void **export_outputs(const std::vector<at::Tensor> &tensors) {
    void **out = static_cast<void **>(std::malloc((tensors.empty() ? 1 : tensors.size()) * sizeof(void *)));
    for (size_t k = 0; k < tensors.size(); k++)
        out[k] = at::toDLPack(tensors[k].contiguous().cpu());
    return out;
}

// The intra-op thread count (INTRA_OP_PARALLELISM, set through torch.set_num_threads) is
// OpenMP's per-thread setting: each worker takes it once, as torch's own threads do, or its
// parallel regions would use every core.
inline void init_worker_thread() {
    static thread_local bool done = false;
    if (!done) {
        at::init_num_threads();
        done = true;
    }
}

// What a failing torch call says, without the C++ frames (as Python shows it).
template <typename F>
inline int guarded(char **error, F &&body) {
    init_worker_thread();
    try {
        body();
        return 0;
    } catch (const CoreWorded &e) {
        return e.code;
    } catch (const c10::Error &e) {
        *error = malloc_text(e.what_without_backtrace());
    } catch (const std::exception &e) {
        *error = malloc_text(e.what());
    } catch (...) {
        *error = malloc_text("unknown torch error");
    }
    return -1;
}

struct ModelRunner {
    RaiNativeRunner base;  // first: the core holds &base
    torch::jit::Module module;
    c10::Device device;
};

inline std::vector<at::Tensor> model_outputs(const c10::IValue &result) {
    std::vector<at::Tensor> out;
    if (result.isTensor()) {
        out.push_back(result.toTensor());
        return out;
    }
    std::vector<c10::IValue> values;
    if (result.isTuple())
        values = result.toTupleRef().elements().vec();
    else if (result.isList())
        values = result.toList().vec();
    for (const auto &value : values) {
        if (!value.isTensor())
            throw std::runtime_error("Model did not return tensors");
        out.push_back(value.toTensor());
    }
    if (values.empty() && !(result.isTuple() || result.isList()))
        throw std::runtime_error("Model did not return tensors");
    return out;
}

inline int run_model(const RaiNativeRunner *base, RaiNativeModelCall *call) {
    const ModelRunner *runner = reinterpret_cast<const ModelRunner *>(base);
    return guarded(&call->error, [&] {
        c10::InferenceMode inference;
        std::vector<c10::IValue> args;
        args.reserve(call->ninputs);
        for (size_t i = 0; i < call->ninputs; i++)
            args.emplace_back(batched_input(call, i, runner->device));
        torch::jit::Module module = runner->module;  // a handle: forward is not const
        std::vector<at::Tensor> outputs = model_outputs(module.forward(std::move(args)));
        call->outputs = export_outputs(outputs);
        call->noutputs = outputs.size();
    });
}

inline ModelRunner *model_runner(PyObject *script_module, const std::string &device) {
    std::optional<torch::jit::Module> module = torch::jit::as_module(py::handle(script_module));
    if (!module)
        throw std::runtime_error("not a TorchScript module");
    return new ModelRunner{{run_model, nullptr}, *module, c10::Device(device)};
}

// Scripts (docs/BEHAVIOUR.md §9): the same calling conventions and checks as RedisAI's.

inline bool utf8_valid(const std::string &text) {
    const unsigned char *s = reinterpret_cast<const unsigned char *>(text.data());
    size_t n = text.size(), i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (len == 0 || i + len > n)
            return false;
        uint32_t cp = len == 1 ? c : c & (0x7F >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;  // overlong, beyond Unicode, or a surrogate
        i += len;
    }
    return true;
}

// A name as the client sees it in an error: what is not UTF-8 shows as '?', byte by byte.
inline std::string printable(const std::string &text) {
    if (utf8_valid(text))
        return text;
    std::string out;
    for (size_t i = 0; i < text.size(); i++) {
        std::string rest = text.substr(i, 4);
        size_t len = 0;
        for (size_t k = 1; k <= rest.size() && len == 0; k++)
            if (utf8_valid(rest.substr(0, k)))
                len = k;
        if (len == 0) {
            out += '?';
        } else {
            out += rest.substr(0, len);
            i += len - 1;
        }
    }
    return out;
}

struct ScriptRunner {
    RaiNativeRunner base;  // first: the core holds &base
    std::shared_ptr<torch::jit::CompilationUnit> unit;
    c10::Device device;
};

inline c10::List<std::string> string_list(const char *const *texts, size_t n) {
    c10::List<std::string> out;
    for (size_t k = 0; k < n; k++) {
        std::string text(texts[k]);
        if (!utf8_valid(text))
            throw CoreWorded{RAI_NATIVE_TEXT_NOT_UTF8};
        out.push_back(std::move(text));
    }
    return out;
}

// Parameters filled left to right: Tensor takes the next input, List[Tensor] all the remaining
// ones; surplus inputs are ignored.
inline std::vector<c10::IValue> legacy_arguments(const torch::jit::Function &function, const std::string &name,
                                                 const std::vector<at::Tensor> &tensors) {
    const auto &params = function.getSchema().arguments();
    if (params.size() > tensors.size())
        throw std::runtime_error("Wrong number of inputs provided to function: " + name);
    std::vector<c10::IValue> arguments;
    size_t taken = 0;
    for (const auto &param : params) {
        std::string kind = param.type()->annotation_str();
        if (kind == "Tensor") {
            arguments.emplace_back(tensors[taken++]);
        } else if (kind == "List[Tensor]") {
            arguments.emplace_back(c10::List<at::Tensor>(std::vector<at::Tensor>(tensors.begin() + taken, tensors.end())));
            break;
        } else {
            throw std::runtime_error("Unsupported input type in function definition: " + name);
        }
    }
    return arguments;
}

// A Tensor, or a list or tuple of Tensors, checked against the OUTPUTS count.
inline std::vector<at::Tensor> script_outputs(const c10::IValue &result, const std::string &name, size_t noutputs) {
    std::vector<at::Tensor> out;
    if (noutputs == 0)
        return out;
    std::vector<c10::IValue> values;
    if (result.isTensor())
        values.push_back(result);
    else if (result.isTuple())
        values = result.toTupleRef().elements().vec();
    else if (result.isList())
        values = result.toList().vec();
    else
        throw std::runtime_error("Function returned non-tensor values" + name);
    for (const auto &value : values) {
        if (!value.isTensor())
            throw std::runtime_error("Function returned non-tensor values" + name);
        out.push_back(value.toTensor());
    }
    if (out.size() != noutputs)
        throw std::runtime_error("Function returned unexpected number of outputs - " + name);
    return out;
}

// TorchScript ends an interpreter error's text with newlines: the client gets it without them.
inline void trim_end(char *text) {
    size_t n = text ? std::strlen(text) : 0;
    while (n > 0 && std::isspace(static_cast<unsigned char>(text[n - 1])))
        text[--n] = 0;
}

inline int run_script(const RaiNativeRunner *base, RaiNativeScriptCall *call) {
    const ScriptRunner *runner = reinterpret_cast<const ScriptRunner *>(base);
    int rc = guarded(&call->error, [&] {
        std::string name(call->function);
        torch::jit::Function *function = utf8_valid(name) ? runner->unit->find_function(c10::QualifiedName(name)) : nullptr;
        if (function == nullptr)
            throw std::runtime_error("Function does not exist: " + printable(name));
        c10::List<std::string> keys = string_list(call->keys, call->nkeys);
        c10::List<std::string> args = string_list(call->args, call->nargs);
        std::vector<at::Tensor> tensors;
        for (size_t i = 0; i < call->ninputs; i++)
            tensors.push_back(private_input(call->inputs[i], runner->device));
        c10::InferenceMode inference;
        std::vector<c10::IValue> stack;
        if (call->entry_point)
            stack = {c10::List<at::Tensor>(tensors), keys, args};
        else
            stack = legacy_arguments(*function, name, tensors);
        std::vector<at::Tensor> outputs = script_outputs((*function)(std::move(stack)), name, call->noutputs);
        call->outputs = export_outputs(outputs);
    });
    trim_end(call->error);
    return rc;
}

inline ScriptRunner *script_runner(PyObject *compilation_unit, const std::string &device) {
    auto unit = py::cast<std::shared_ptr<torch::jit::CompilationUnit>>(py::handle(compilation_unit));
    return new ScriptRunner{{nullptr, run_script}, unit, c10::Device(device)};
}

}  // namespace rai_torch
