// What TorchScript scripts can call besides torch (docs/BEHAVIOUR.md §9.7): redis.execute,
// redis.asList and redisAI.model_execute, as C++ kernels of custom torch ops, so that a script
// calling Redis runs with no GIL too. They run on the worker running the script; the core does
// the Redis side (the caller's ACL, the lock) through RaiScriptHooks (src/native_runner.h).
// Included once, by torch_native.pyx: the registrations run when the extension loads.
#pragma once
#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/DLConvertor.h>
#include <torch/library.h>
#include <torch/script.h>

#include "native_runner.h"

namespace rai_torch {

// Set once by the TORCH adapter, before any script is compiled.
inline const RaiScriptHooks *script_hooks = nullptr;

enum ReplyKind { REPLY_STRING = 0, REPLY_ERROR = 1, REPLY_INTEGER = 2, REPLY_ARRAY = 3 };

[[noreturn]] inline void fail_with(char *error) {
    std::string text(error ? error : "");
    std::free(error);
    throw std::runtime_error(text);
}

// null -> None, string -> str, integer -> int, array -> tuple (heterogeneous, recursively;
// redis.asList makes it a list); an error reply anywhere fails the op.
inline c10::IValue reply_value(void *reply) {
    const RaiScriptHooks *h = script_hooks;
    size_t len = 0;
    switch (h->reply_type(reply)) {
    case REPLY_INTEGER:
        return c10::IValue(static_cast<int64_t>(h->reply_integer(reply)));
    case REPLY_STRING: {
        const char *s = h->reply_string(reply, &len);
        return c10::IValue(std::string(s, len));
    }
    case REPLY_ERROR: {
        const char *s = h->reply_string(reply, &len);
        throw std::runtime_error(h->redis_error_prefix + std::string(s, len));
    }
    case REPLY_ARRAY: {
        std::vector<c10::IValue> elements;
        for (size_t k = 0, n = h->reply_length(reply); k < n; k++)
            elements.push_back(reply_value(h->reply_element(reply, k)));
        return c10::ivalue::Tuple::create(std::move(elements));
    }
    default:
        return c10::IValue();
    }
}

// redis::execute(str cmd, str[] args) -> Any
inline void redis_execute(const c10::OperatorHandle &, torch::jit::Stack *stack) {
    c10::List<c10::IValue> args = torch::jit::pop(*stack).toList();
    std::vector<std::string> words{torch::jit::pop(*stack).toStringRef()};
    for (const c10::IValue &arg : args)
        words.push_back(arg.toStringRef());
    std::vector<const char *> argv;
    std::vector<size_t> lens;
    for (const std::string &word : words) {
        argv.push_back(word.data());
        lens.push_back(word.size());
    }
    char *error = nullptr;
    void *reply = script_hooks->redis_call(argv.data(), lens.data(), static_cast<int>(argv.size()), &error);
    if (reply == nullptr)
        fail_with(error);
    c10::IValue value;
    try {
        value = reply_value(reply);
    } catch (...) {
        script_hooks->reply_free(reply);
        throw;
    }
    script_hooks->reply_free(reply);
    torch::jit::push(*stack, std::move(value));
}

// redis::asList(Any v) -> Any[]
inline void redis_as_list(const c10::OperatorHandle &, torch::jit::Stack *stack) {
    c10::IValue value = torch::jit::pop(*stack);
    c10::impl::GenericList list(c10::AnyType::get());
    if (value.isTuple()) {
        for (const c10::IValue &element : value.toTupleRef().elements())
            list.push_back(element);
    } else if (value.isList()) {
        for (const c10::IValue &element : value.toList())
            list.push_back(element);
    } else {
        throw std::runtime_error("redis.asList expects a list reply");
    }
    torch::jit::push(*stack, std::move(list));
}

// redisAI::model_execute(str key, Tensor[] inputs, int num_outputs) -> Tensor[]: synchronous, on
// this worker (docs/BEHAVIOUR.md §9.7). The inputs go over as CPU tensors; the outputs come back
// as tensors over the run's own output memory, which nothing else holds.
inline void redis_ai_model_execute(const c10::OperatorHandle &, torch::jit::Stack *stack) {
    int64_t num_outputs = torch::jit::pop(*stack).toInt();
    std::vector<at::Tensor> inputs = torch::jit::pop(*stack).toTensorVector();
    std::string key = torch::jit::pop(*stack).toStringRef();
    std::vector<DLManagedTensor *> exported;
    std::vector<const void *> views;
    for (const at::Tensor &t : inputs) {
        exported.push_back(at::toDLPack(t.detach().contiguous().cpu()));
        views.push_back(&exported.back()->dl_tensor);
    }
    size_t noutputs = num_outputs > 0 ? static_cast<size_t>(num_outputs) : 0;
    void **outputs = nullptr;
    char *error = nullptr;
    int rc = script_hooks->model_execute(key.data(), key.size(), views.data(), views.size(), noutputs,
                                         &outputs, &error);
    for (DLManagedTensor *m : exported)
        m->deleter(m);
    if (rc != 0)
        fail_with(error);
    c10::List<at::Tensor> results;
    for (size_t k = 0; k < noutputs; k++)
        results.push_back(at::fromDLPack(static_cast<DLManagedTensor *>(outputs[k])));
    std::free(outputs);
    torch::jit::push(*stack, std::move(results));
}

}  // namespace rai_torch

// CONSERVATIVE: the ops have side effects, TorchScript must neither drop nor reorder them.
TORCH_LIBRARY(redis, m) {
    m.def(torch::schema("execute(str cmd, str[] args) -> Any", c10::AliasAnalysisKind::CONSERVATIVE));
    m.def(torch::schema("asList(Any v) -> Any[]", c10::AliasAnalysisKind::CONSERVATIVE));
}

TORCH_LIBRARY_IMPL(redis, CompositeExplicitAutograd, m) {
    m.impl("execute", torch::CppFunction::makeFromBoxedFunction<rai_torch::redis_execute>());
    m.impl("asList", torch::CppFunction::makeFromBoxedFunction<rai_torch::redis_as_list>());
}

TORCH_LIBRARY(redisAI, m) {
    m.def(torch::schema("model_execute(str key, Tensor[] inputs, int num_outputs) -> Tensor[]",
                        c10::AliasAnalysisKind::CONSERVATIVE));
}

TORCH_LIBRARY_IMPL(redisAI, CompositeExplicitAutograd, m) {
    m.impl("model_execute", torch::CppFunction::makeFromBoxedFunction<rai_torch::redis_ai_model_execute>());
}
