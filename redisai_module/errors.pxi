# Every client-visible error string. They are API: RedisAI clients match
# them byte for byte (docs/COMMANDS.md §0.2, §3, §4), so they live here and nowhere else.
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
    #define RAI_ERR_MODEL_EMPTY "ERR model key is empty"
    #define RAI_ERR_UNSUPPORTED_BACKEND "ERR unsupported backend"
    #define RAI_ERR_INVALID_DEVICE "ERR Invalid DEVICE"
    #define RAI_ERR_BATCHSIZE "ERR Invalid argument for BATCHSIZE"
    #define RAI_ERR_MINBATCHSIZE "ERR Invalid argument for MINBATCHSIZE"
    #define RAI_ERR_MINBATCHSIZE_WITHOUT "ERR MINBATCHSIZE specified without BATCHSIZE"
    #define RAI_ERR_MINBATCHTIMEOUT "ERR Invalid argument for MINBATCHTIMEOUT"
    #define RAI_ERR_MINBATCHTIMEOUT_WITHOUT "ERR MINBATCHTIMEOUT specified without MINBATCHSIZE"
    #define RAI_ERR_MISSING_BLOB "ERR Insufficient arguments, missing model BLOB"
    #define RAI_ERR_TF_INPUTS "ERR INPUTS not specified for TF"
    #define RAI_ERR_INPUT_COUNT "ERR Invalid argument for input_count"
    #define RAI_ERR_INPUT_NAMES "ERR number of model inputs does not match the number of given arguments"
    #define RAI_ERR_TF_OUTPUTS "ERR OUTPUTS not specified for TF"
    #define RAI_ERR_OUTPUT_COUNT "ERR Invalid argument for output_count"
    #define RAI_ERR_OUTPUT_NAMES "ERR number of model outputs does not match the number of given arguments"
    #define RAI_ERR_INPUTS_NOT_FOR_BACKEND "ERR INPUTS argument should not be specified for this backend"
    #define RAI_ERR_EXPECTED_BLOB "ERR Invalid argument, expected BLOB"
    #define RAI_ERR_LOAD_BACKEND "ERR Could not load backend"
    #define RAI_ERR_MULTI "ERR Cannot run RedisAI command within a transaction or a LUA script"
    #define RAI_ERR_SCAN_NO_USER "ERR cannot tell the caller's ACL user: call from a connection or a Lua script"
    #define RAI_ERR_MODELEXECUTE_ARITY "ERR wrong number of arguments for 'AI.MODELEXECUTE' command"
    #define RAI_ERR_INPUTS_NOT_SPECIFIED "ERR INPUTS not specified"
    #define RAI_ERR_INPUT_COUNT_POSITIVE "ERR Input count must be a positive integer"
    #define RAI_ERR_INPUTS_MODEL_MISMATCH "Number of keys given as INPUTS here does not match model definition"
    #define RAI_ERR_INPUT_KEYS "ERR number of input keys to AI.MODELEXECUTE command does not match the number of given arguments"
    #define RAI_ERR_OUTPUTS_NOT_SPECIFIED "ERR OUTPUTS not specified"
    #define RAI_ERR_OUTPUT_COUNT_POSITIVE "ERR Output count must be a positive integer"
    #define RAI_ERR_OUTPUTS_MODEL_MISMATCH "Number of keys given as OUTPUTS here does not match model definition"
    #define RAI_ERR_OUTPUT_KEYS "ERR number of output keys to AI.MODELEXECUTE command does not match the number of given arguments"
    #define RAI_ERR_TIMEOUT_MISSING "ERR No value provided for TIMEOUT"
    #define RAI_ERR_TIMEOUT_VALUE "ERR Invalid value for TIMEOUT"
    #define RAI_ERR_TFLITE_BATCHING "ERR Auto-batching not supported by the TFLITE backend"
    #define RAI_ERR_MINBATCHTIMEOUT_WITHOUT_BATCHSIZE "ERR MINBATCHTIMEOUT specified without BATCHSIZE"
    #define RAI_ERR_TF_NO_INPUTS_OUTPUTS "ERR Insufficient arguments, INPUTS and OUTPUTS not specified"
    #define RAI_ERR_MODELRUN_ARITY "ERR wrong number of arguments for 'AI.MODELRUN' command"
    #define RAI_ERR_LOADING_BACKEND "ERR error loading backend"
    #define RAI_ERR_BACKENDSPATH_MISSING "ERR BACKENDSPATH: missing path argument"
    #define RAI_ERR_CHUNK_SIZE_MISSING "ERR MODEL_CHUNK_SIZE: missing chunk size"
    #define RAI_ERR_CHUNK_SIZE_INVALID "ERR MODEL_CHUNK_SIZE: invalid chunk size"
    #define RAI_ERR_UNSUPPORTED_SUBCOMMAND "ERR unsupported subcommand"
    #define RAI_ERR_SCRIPT_EMPTY "ERR script key is empty"
    #define RAI_ERR_MISSING_ENTRY_POINTS "ERR Insufficient arguments, missing script entry points"
    #define RAI_ERR_ENTRY_POINTS_COUNT "ERR Non numeric entry points number provided to AI.SCRIPTSTORE command"
    #define RAI_ERR_MISSING_SOURCE "ERR Insufficient arguments, missing script SOURCE"
    #define RAI_ERR_SCRIPTEXECUTE_ARITY "ERR wrong number of arguments for 'AI.SCRIPTEXECUTE' command"
    #define RAI_ERR_SCRIPT_KEYS_OR_INPUTS_FIRST "ERR KEYS or INPUTS scope must be provided first for AI.SCRIPTEXECUTE command"
    #define RAI_ERR_SCRIPT_KEYS_MISSING "ERR Missing arguments after KEYS keyword"
    #define RAI_ERR_SCRIPT_KEYS_COUNT "ERR Invalid or negative value found in number of KEYS"
    #define RAI_ERR_SCRIPT_KEYS_LENGTH "ERR Number of pre declared KEYS to be used in the command does not match the number of given arguments"
    #define RAI_ERR_SCRIPT_ARGUMENTS "ERR Invalid arguments provided to AI.SCRIPTEXECUTE"
    #define RAI_ERR_SCRIPT_INPUTS_COUNT "ERR Invalid argument for inputs count in AI.SCRIPTEXECUTE"
    #define RAI_ERR_SCRIPT_ARGS_COUNT "ERR Invalid argument for keys count in AI.SCRIPTEXECUTE"
    #define RAI_ERR_SCRIPT_OUTPUTS_COUNT "ERR Invalid argument for outputs count in AI.SCRIPTEXECUTE"
    #define RAI_ERR_SCRIPT_INPUTS_LENGTH "ERR number of inputs to AI.SCRIPTEXECUTE command does not match the number of given arguments"
    #define RAI_ERR_SCRIPT_ARGS_LENGTH "ERR number of args to AI.SCRIPTEXECUTE command does not match the number of given arguments"
    #define RAI_ERR_SCRIPT_OUTPUTS_LENGTH "ERR number of outputs to AI.SCRIPTEXECUTE command does not match the number of given arguments"
    #define RAI_ERR_SCRIPT_REPEATED_KEYS "ERR Already Encountered KEYS scope in AI.SCRIPTEXECUTE command"
    #define RAI_ERR_SCRIPT_REPEATED_INPUTS "ERR Already Encountered INPUTS scope in AI.SCRIPTEXECUTE command"
    #define RAI_ERR_SCRIPT_REPEATED_ARGS "ERR Already Encountered ARGS scope in AI.SCRIPTEXECUTE command"
    #define RAI_ERR_SCRIPT_REPEATED_OUTPUTS "ERR Already Encountered OUTPUTS scope in AI.SCRIPTEXECUTE command"
    #define RAI_ERR_SCRIPT_TIMEOUT_MISSING "ERR No value provided for TIMEOUT in AI.SCRIPTEXECUTE"
    #define RAI_ERR_SCRIPT_AFTER_TIMEOUT "ERR Encountered problem parsing AI.SCRIPTEXECUTE"
    #define RAI_ERR_NO_RUN_INFO "ERR cannot find run info for key"
    #define RAI_ERR_NOPERM_KEY "NOPERM this user has no permissions to access one of the keys used as arguments"
    #define RAI_ERR_NO_QUEUE "ERR no run queue could be created for the model's device"
    #define RAI_ERR_SCRIPTRUN_ARITY "ERR wrong number of arguments for 'AI.SCRIPTRUN' command"
    #define RAI_ERR_SCRIPTRUN_TIMEOUT_REPEATED "ERR Already encountered an TIMEOUT section in SCRIPTRUN"
    #define RAI_ERR_SCRIPTRUN_INPUTS_AFTER_OUTPUTS "ERR Already encountered an INPUTS section in SCRIPTRUN"
    #define RAI_ERR_SCRIPTRUN_INPUTS_REPEATED "ERR Already encountered an INPUTS keyword in SCRIPTRUN"
    #define RAI_ERR_SCRIPTRUN_OUTPUTS_REPEATED "ERR Already encountered an OUTPUTS keyword in SCRIPTRUN"
    #define RAI_ERR_SCRIPTRUN_VARIADIC_OUTSIDE "ERR Encountered a variable size list of tensors outside of input section"
    #define RAI_ERR_SCRIPTRUN_VARIADIC_REPEATED "ERR Already encountered a variable size list of tensors"
    #define RAI_ERR_SCRIPTRUN_UNRECOGNIZED "ERR Unrecongnized parameter to SCRIPTRUN"
    #define RAI_ERR_TIMEOUT_IN_DAG "ERR TIMEOUT not allowed within a DAG command"
    #define RAI_ERR_DAGEXECUTE_ARITY "ERR missing arguments for 'AI.DAGEXECUTE' command"
    #define RAI_ERR_DAGEXECUTE_RO_ARITY "ERR missing arguments for 'AI.DAGEXECUTE_RO' command"
    #define RAI_ERR_DAGRUN_ARITY "ERR wrong number of arguments for 'AI.DAGRUN' command"
    #define RAI_ERR_DAGRUN_RO_ARITY "ERR wrong number of arguments for 'AI.DAGRUN_RO' command"
    #define RAI_ERR_DAG_LOAD_MISSING "ERR missing arguments after LOAD keyword in DAG command"
    #define RAI_ERR_DAG_LOAD_COUNT "ERR invalid or negative value found in number of keys to LOAD"
    #define RAI_ERR_DAG_LOAD_LENGTH "ERR number of keys to LOAD into DAG does not match the number of given arguments"
    #define RAI_ERR_DAG_PERSIST_READ_ONLY "ERR PERSIST cannot be specified in a read-only DAG"
    #define RAI_ERR_DAG_PERSIST_MISSING "ERR missing arguments after PERSIST keyword in DAG command"
    #define RAI_ERR_DAG_PERSIST_COUNT "ERR invalid or negative value found in number of keys to PERSIST"
    #define RAI_ERR_DAG_PERSIST_UNIQUE "ERR PERSIST keys must be unique"
    #define RAI_ERR_DAG_PERSIST_LENGTH "ERR number of keys to PERSIST after DAG execution does not match the number of given arguments"
    #define RAI_ERR_DAG_ROUTING_MISSING "ERR Missing ROUTING value"
    #define RAI_ERR_DAG_NEEDS_KEYWORD "ERR AI.DAGEXECUTE and AI.DAGEXECUTE_RO commands must contain at least one out of ROUTING, LOAD, PERSIST keywords"
    #define RAI_ERR_DAG_EMPTY "ERR DAG is empty"
    #define RAI_ERR_DAG_TENSORSET_ARITY "wrong number of arguments for 'AI.TENSORSET' command"
    #define RAI_ERR_DAG_TENSORGET_ARITY "wrong number of arguments for 'AI.TENSORGET' command"
    #define RAI_ERR_DAG_SCRIPTEXECUTE_READ_ONLY "ERR AI.SCRIPTEXECUTE command cannot be specified in a read-only DAG"
    #define RAI_ERR_DAG_MODELRUN_IN_DAGEXECUTE "Deprecated AI.MODELRUN cannot be used in AI.DAGEXECUTE command"
    #define RAI_ERR_DAG_SCRIPTRUN_IN_DAGEXECUTE "Deprecated AI.SCRIPTRUN cannot be used in AI.DAGEXECUTE command"
    #define RAI_ERR_DAG_MODELEXECUTE_IN_DAGRUN "AI.MODELEXECUTE cannot be used in a deprecated AI.DAGRUN command"
    #define RAI_ERR_DAG_SCRIPTEXECUTE_IN_DAGRUN "AI.SCRIPTEXECUTE cannot be used in a deprecated AI.DAGRUN command"
    #define RAI_ERR_DAG_UNSUPPORTED_OP "Unsupported command within DAG"
    #define RAI_ERR_DAG_INPUT_NOT_FOUND "ERR INPUT key cannot be found in DAG"
    #define RAI_ERR_DAG_PERSIST_NOT_FOUND "ERR PERSIST key cannot be found in DAG"
    #define RAI_ERR_MODEL_EXECUTE_NOT_A_TENSOR "ERR redisAI.model_execute: a model output is not a torch tensor (e.g. an ONNX sequence, map or STRING tensor)"
    #define RAI_ERR_SCRIPT_NOT_ASCII "TorchScript names must be ASCII: "
    #define RAI_ERR_SCRIPT_SOURCE_UTF8 "ERR script source must be UTF-8 text"
    #define RAI_ERR_SCRIPT_KEYS_ARGS_UTF8 "ERR script KEYS and ARGS must be UTF-8 text (TorchScript strings)"
    #define RAI_ERR_TORCH_STRING_INPUT "ERR STRING tensors cannot be TORCH inputs: torch has no string tensors"
    #define RAI_ERR_DAG_NOT_A_TENSOR "ERR model output is not a tensor (e.g. an ONNX sequence or map): no DAG op can read it"
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
    const char *RAI_ERR_MODEL_EMPTY
    const char *RAI_ERR_UNSUPPORTED_BACKEND
    const char *RAI_ERR_INVALID_DEVICE
    const char *RAI_ERR_BATCHSIZE
    const char *RAI_ERR_MINBATCHSIZE
    const char *RAI_ERR_MINBATCHSIZE_WITHOUT
    const char *RAI_ERR_MINBATCHTIMEOUT
    const char *RAI_ERR_MINBATCHTIMEOUT_WITHOUT
    const char *RAI_ERR_MISSING_BLOB
    const char *RAI_ERR_TF_INPUTS
    const char *RAI_ERR_INPUT_COUNT
    const char *RAI_ERR_INPUT_NAMES
    const char *RAI_ERR_TF_OUTPUTS
    const char *RAI_ERR_OUTPUT_COUNT
    const char *RAI_ERR_OUTPUT_NAMES
    const char *RAI_ERR_INPUTS_NOT_FOR_BACKEND
    const char *RAI_ERR_EXPECTED_BLOB
    const char *RAI_ERR_LOAD_BACKEND
    const char *RAI_ERR_MULTI
    const char *RAI_ERR_SCAN_NO_USER
    const char *RAI_ERR_MODELEXECUTE_ARITY
    const char *RAI_ERR_INPUTS_NOT_SPECIFIED
    const char *RAI_ERR_INPUT_COUNT_POSITIVE
    const char *RAI_ERR_INPUTS_MODEL_MISMATCH
    const char *RAI_ERR_INPUT_KEYS
    const char *RAI_ERR_OUTPUTS_NOT_SPECIFIED
    const char *RAI_ERR_OUTPUT_COUNT_POSITIVE
    const char *RAI_ERR_OUTPUTS_MODEL_MISMATCH
    const char *RAI_ERR_OUTPUT_KEYS
    const char *RAI_ERR_TIMEOUT_MISSING
    const char *RAI_ERR_TIMEOUT_VALUE
    const char *RAI_ERR_NOPERM_KEY
    const char *RAI_ERR_NO_QUEUE
    const char *RAI_ERR_NO_RUN_INFO
    const char *RAI_ERR_TFLITE_BATCHING
    const char *RAI_ERR_MINBATCHTIMEOUT_WITHOUT_BATCHSIZE
    const char *RAI_ERR_TF_NO_INPUTS_OUTPUTS
    const char *RAI_ERR_MODELRUN_ARITY
    const char *RAI_ERR_LOADING_BACKEND
    const char *RAI_ERR_BACKENDSPATH_MISSING
    const char *RAI_ERR_CHUNK_SIZE_MISSING
    const char *RAI_ERR_CHUNK_SIZE_INVALID
    const char *RAI_ERR_UNSUPPORTED_SUBCOMMAND
    const char *RAI_ERR_SCRIPT_EMPTY
    const char *RAI_ERR_MISSING_ENTRY_POINTS
    const char *RAI_ERR_ENTRY_POINTS_COUNT
    const char *RAI_ERR_MISSING_SOURCE
    const char *RAI_ERR_SCRIPTEXECUTE_ARITY
    const char *RAI_ERR_SCRIPT_KEYS_OR_INPUTS_FIRST
    const char *RAI_ERR_SCRIPT_KEYS_MISSING
    const char *RAI_ERR_SCRIPT_KEYS_COUNT
    const char *RAI_ERR_SCRIPT_KEYS_LENGTH
    const char *RAI_ERR_SCRIPT_ARGUMENTS
    const char *RAI_ERR_SCRIPT_INPUTS_COUNT
    const char *RAI_ERR_SCRIPT_ARGS_COUNT
    const char *RAI_ERR_SCRIPT_OUTPUTS_COUNT
    const char *RAI_ERR_SCRIPT_INPUTS_LENGTH
    const char *RAI_ERR_SCRIPT_ARGS_LENGTH
    const char *RAI_ERR_SCRIPT_OUTPUTS_LENGTH
    const char *RAI_ERR_SCRIPT_REPEATED_KEYS
    const char *RAI_ERR_SCRIPT_REPEATED_INPUTS
    const char *RAI_ERR_SCRIPT_REPEATED_ARGS
    const char *RAI_ERR_SCRIPT_REPEATED_OUTPUTS
    const char *RAI_ERR_SCRIPT_TIMEOUT_MISSING
    const char *RAI_ERR_SCRIPT_AFTER_TIMEOUT
    const char *RAI_ERR_SCRIPTRUN_ARITY
    const char *RAI_ERR_SCRIPTRUN_TIMEOUT_REPEATED
    const char *RAI_ERR_SCRIPTRUN_INPUTS_AFTER_OUTPUTS
    const char *RAI_ERR_SCRIPTRUN_INPUTS_REPEATED
    const char *RAI_ERR_SCRIPTRUN_OUTPUTS_REPEATED
    const char *RAI_ERR_SCRIPTRUN_VARIADIC_OUTSIDE
    const char *RAI_ERR_SCRIPTRUN_VARIADIC_REPEATED
    const char *RAI_ERR_SCRIPTRUN_UNRECOGNIZED
    const char *RAI_ERR_TIMEOUT_IN_DAG
    const char *RAI_ERR_DAGEXECUTE_ARITY
    const char *RAI_ERR_DAGEXECUTE_RO_ARITY
    const char *RAI_ERR_DAGRUN_ARITY
    const char *RAI_ERR_DAGRUN_RO_ARITY
    const char *RAI_ERR_DAG_LOAD_MISSING
    const char *RAI_ERR_DAG_LOAD_COUNT
    const char *RAI_ERR_DAG_LOAD_LENGTH
    const char *RAI_ERR_DAG_PERSIST_READ_ONLY
    const char *RAI_ERR_DAG_PERSIST_MISSING
    const char *RAI_ERR_DAG_PERSIST_COUNT
    const char *RAI_ERR_DAG_PERSIST_UNIQUE
    const char *RAI_ERR_DAG_PERSIST_LENGTH
    const char *RAI_ERR_DAG_ROUTING_MISSING
    const char *RAI_ERR_DAG_NEEDS_KEYWORD
    const char *RAI_ERR_DAG_EMPTY
    const char *RAI_ERR_DAG_TENSORSET_ARITY
    const char *RAI_ERR_DAG_TENSORGET_ARITY
    const char *RAI_ERR_DAG_SCRIPTEXECUTE_READ_ONLY
    const char *RAI_ERR_DAG_MODELRUN_IN_DAGEXECUTE
    const char *RAI_ERR_DAG_SCRIPTRUN_IN_DAGEXECUTE
    const char *RAI_ERR_DAG_MODELEXECUTE_IN_DAGRUN
    const char *RAI_ERR_DAG_SCRIPTEXECUTE_IN_DAGRUN
    const char *RAI_ERR_DAG_UNSUPPORTED_OP
    const char *RAI_ERR_DAG_INPUT_NOT_FOUND
    const char *RAI_ERR_DAG_PERSIST_NOT_FOUND
    const char *RAI_ERR_DAG_NOT_A_TENSOR
    const char *RAI_ERR_TORCH_STRING_INPUT
    const char *RAI_ERR_SCRIPT_SOURCE_UTF8
    const char *RAI_ERR_SCRIPT_KEYS_ARGS_UTF8
    const char *RAI_ERR_SCRIPT_NOT_ASCII
    const char *RAI_ERR_MODEL_EXECUTE_NOT_A_TENSOR
