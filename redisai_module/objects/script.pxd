# The script value: its header (device, tag, handle, statistics) is a model's too; the
# TorchScript source and entry points live in C memory (RDB, AOF and DUMP never touch Python);
# `head.handle` is the compiled torch CompilationUnit.
from redisai_module.objects.runnable cimport RaiRunnable

ctypedef struct RaiScript:
    RaiRunnable head      # first: a RaiScript * is a RaiRunnable *
    char *source          # NUL-terminated
    size_t source_len
    size_t nentry_points
    char **entry_points   # in the order given (AI.SCRIPTGET reports them so)
