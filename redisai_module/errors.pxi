# Every client-visible error string of the tensor path. They are API: RedisAI clients match
# them byte for byte (COMMANDS.md §0.2, §3, §4), so they live here and nowhere else.
# Plain C string constants: usable from nogil code and from the forked BGSAVE child.
cdef extern from *:
    """
    #define RAI_ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
    #define RAI_ERR_TENSOR_EMPTY "ERR tensor key is empty or in a different shard"
    #define RAI_ERR_DTYPE "ERR invalid data type"
    #define RAI_ERR_SHAPE "ERR invalid or negative value found in tensor shape"
    #define RAI_ERR_BLOB_ARGS "ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command"
    #define RAI_ERR_VALUES_COUNT "ERR wrong number of values was given in 'AI.TENSORSET' command"
    #define RAI_ERR_BLOB_LENGTH "ERR data length does not match tensor shape and type"
    #define RAI_ERR_BOOL_BLOB "ERR BOOL tensor elements must be 0 or 1"
    #define RAI_ERR_STRING_BLOB "ERR Number of string elements in data blob does not match tensor length"
    #define RAI_ERR_VALUE "ERR invalid value"
    #define RAI_ERR_STRING_NUL "ERR C-string value contains null character"
    #define RAI_ERR_TOO_LARGE "ERR tensor is too large to allocate"
    #define RAI_ERR_DATA_FORMAT "ERR unsupported data format"
    #define RAI_ERR_BLOB_AND_VALUES "ERR both BLOB and VALUES specified"
    #define RAI_ERR_UNSUPPORTED_DTYPE "ERR unsupported dtype"
    #define RAI_ERR_VALUES_DTYPE "ERR cannot get values for this data type"
    """
    const char *RAI_ERR_WRONGTYPE
    const char *RAI_ERR_TENSOR_EMPTY
    const char *RAI_ERR_DTYPE
    const char *RAI_ERR_SHAPE
    const char *RAI_ERR_BLOB_ARGS
    const char *RAI_ERR_VALUES_COUNT
    const char *RAI_ERR_BLOB_LENGTH
    const char *RAI_ERR_BOOL_BLOB
    const char *RAI_ERR_STRING_BLOB
    const char *RAI_ERR_VALUE
    const char *RAI_ERR_STRING_NUL
    const char *RAI_ERR_TOO_LARGE
    const char *RAI_ERR_DATA_FORMAT
    const char *RAI_ERR_BLOB_AND_VALUES
    const char *RAI_ERR_UNSUPPORTED_DTYPE
    const char *RAI_ERR_VALUES_DTYPE
