"""Whether this machine's torch sees a CUDA device (the pinned builds are CPU-only: with them,
GPU tests skip and the "couldn't find CUDA" tests run)."""
import pytest
import torch

HAS_CUDA = torch.cuda.is_available()
needs_gpu = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device visible to torch")
needs_no_gpu = pytest.mark.skipif(HAS_CUDA, reason="checks the error for a host without CUDA")
