"""Whether this machine's torch and onnxruntime see a CUDA device (the pinned builds are CPU-only:
with them, GPU tests skip and the "couldn't find CUDA" tests run; `GPU=1 bash opt/setup.sh`
installs the CUDA builds)."""
import pytest
import torch


def _onnxruntime_has_cuda():
    import onnxruntime
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


HAS_CUDA = torch.cuda.is_available()
HAS_ONNX_CUDA = HAS_CUDA and _onnxruntime_has_cuda()
needs_gpu = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device visible to torch")
needs_onnx_gpu = pytest.mark.skipif(not HAS_ONNX_CUDA, reason="no CUDA device or no CUDA provider in onnxruntime")
needs_no_gpu = pytest.mark.skipif(HAS_CUDA, reason="checks the error for a host without CUDA")
needs_no_onnx_gpu = pytest.mark.skipif(HAS_ONNX_CUDA, reason="checks the error for an onnxruntime without CUDA")
