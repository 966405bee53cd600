# The one encoding-version constant, shared with the C shim (src/encoding_version.h).
cdef extern from "encoding_version.h":
    enum: RAI_ENCODING_VERSION
