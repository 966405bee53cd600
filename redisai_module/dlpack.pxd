# The DLPack ABI (dlpack.h, v1.x): the struct layouts numpy and torch exchange tensors through.
# Declared here from the published ABI; only layouts, no behaviour.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

cdef enum:
    kDLCPU = 1
    kDLCUDA = 2

cdef enum:  # DLDataTypeCode
    kDLInt = 0
    kDLUInt = 1
    kDLFloat = 2
    kDLBool = 6
    kDLString = 7  # RedisAI's extension code for STRING tensors (not in upstream dlpack.h)

cdef enum:
    DLPACK_MAJOR_VERSION = 1
    DLPACK_MINOR_VERSION = 0
    DLPACK_FLAG_BITMASK_READ_ONLY = 1

ctypedef struct DLDevice:
    int32_t device_type
    int32_t device_id

ctypedef struct DLDataType:
    uint8_t code
    uint8_t bits
    uint16_t lanes

ctypedef struct DLTensor:
    void *data
    DLDevice device
    int32_t ndim
    DLDataType dtype
    int64_t *shape
    int64_t *strides
    uint64_t byte_offset

ctypedef struct DLManagedTensor:
    DLTensor dl_tensor
    void *manager_ctx
    void (*deleter)(DLManagedTensor *self) noexcept nogil

ctypedef struct DLPackVersion:
    uint32_t major
    uint32_t minor

ctypedef struct DLManagedTensorVersioned:
    DLPackVersion version
    void *manager_ctx
    void (*deleter)(DLManagedTensorVersioned *self) noexcept nogil
    uint64_t flags
    DLTensor dl_tensor
