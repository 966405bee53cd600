# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# The one Cython compilation unit of the module, assembled from the files below (as uvloop
# does): one C file, linked with the C shim into install/redisai.so. Read it as the map.

# base (errors.pxi, every client-visible error string, is declared by base.pxd)
include "cstrings.pyx"
include "error_values.pyx"
include "config.pyx"

# objects: what is stored in keys
include "objects/dtypes.pxi"  # rendered from objects/dtypes.pxi.in by setup.py
include "objects/tensor.pyx"
include "objects/tensor_dlpack.pyx"
include "objects/tensor_strings.pyx"
include "objects/deferred_release.pyx"
include "objects/run_stats.pyx"
include "objects/histograms.pyx"
include "objects/backend_table.pyx"
include "objects/runnable.pyx"
include "objects/model.pyx"
include "objects/script.pyx"
include "objects/value_keys.pyx"
include "objects/pipeline.pyx"

# backends: the core's side of the adapters, which are the Python package redisai_module.backends
# (one module per framework, imported on first use; not compiled here)
include "backends/backend_errors.pyx"
include "backends/adapter_host.pyx"
include "backends/registry.pyx"
include "backends/loading.pyx"
include "backends/model_backend.pyx"
include "backends/script_backend.pyx"
include "backends/runnable_loading.pyx"

# execution: per-device run queues and their workers; runs and DAGs
include "execution/clock.pyx"
include "execution/unblock_when_writable.pyx"
include "execution/admission.pyx"
include "execution/run_queue.pyx"
include "execution/batching.pyx"
include "execution/worker_stats.pyx"
include "execution/native_run.pyx"
include "execution/run.pyx"
include "execution/dag.pyx"
include "execution/script_extensions.pyx"
include "execution/shutdown.pyx"

# serialization: one frozen decoder per shipped encoding (named for the versions it reads), the
# table of which reads which, and today's encoders (RDB and AOF)
include "serialization/string_fields.pyx"
include "serialization/tensor_load.pyx"
include "serialization/tensor_v0_v3.pyx"
include "serialization/tensor_v4.pyx"
include "serialization/model_load.pyx"
include "serialization/model_v0.pyx"
include "serialization/model_v1.pyx"
include "serialization/model_v2_v4.pyx"
include "serialization/script_load.pyx"
include "serialization/script_v0.pyx"
include "serialization/script_v1_v2.pyx"
include "serialization/script_v3_v4.pyx"
include "serialization/decoders.pyx"
include "serialization/tensor_save.pyx"
include "serialization/model_save.pyx"
include "serialization/script_save.pyx"
include "serialization/pipeline_rdb.pyx"

# types: the Redis module type callbacks (nogil; see each file for the one exception)
include "types/tensor_type.pyx"
include "types/runnable_types.pxi"  # rendered from types/runnable_types.pxi.in
include "types/pipeline_type.pyx"

# commands: argument parsing and replies
include "commands/parsing.pyx"
include "commands/module_arguments.pyx"
include "commands/keys.pyx"
include "commands/tensor_args.pyx"
include "commands/tensor_reply.pyx"
include "commands/tensorset.pyx"
include "commands/tensorget.pyx"
include "commands/runnable_keys.pyx"
include "commands/runnable_get.pyx"
include "commands/runnable_del.pyx"
include "commands/runnable_scan.pyx"
include "commands/modelstore.pyx"
include "commands/modelset.pyx"
include "commands/runs.pyx"
include "commands/modelexecute.pyx"
include "commands/modelrun.pyx"
include "commands/scriptstore.pyx"
include "commands/scriptexecute.pyx"
include "commands/scriptrun.pyx"
include "commands/dag_names.pyx"
include "commands/dag_parse.pyx"
include "commands/dag_streams.pyx"
include "commands/dagexecute.pyx"
include "commands/slot_tags.pyx"
include "commands/dag_async.pyx"
include "commands/pipeline_pump.pyx"
include "commands/pipelines.pyx"
include "commands/info.pyx"
include "commands/stats.pyx"
include "commands/config_command.pyx"
include "debug.pyx"

# llapi: the API exported to other modules
include "llapi/errors.pyx"
include "llapi/tensors.pyx"
include "llapi/models.pyx"
include "llapi/dags.pyx"
include "llapi/export.pyx"

# operations: INFO MODULES sections
include "live_info.pyx"
include "server_info.pyx"
