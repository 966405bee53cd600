/* RedisModule_OnLoad: the module's entry point. Everything else lives in Cython
 * (redisai_module/); this file only wires it into Redis, in this order:
 * Redis API -> INFO sections -> the LLAPI (src/redisai.h) -> argument check -> Python
 * -> load-time arguments -> data types -> commands -> the shutdown, event-loop and stream-event
 * hooks -> the CPU run queue. */
#include "redismodule.h"

#include "command_table.h"
#include "data_types.h"
#include "python_embed.h"
#include "redisai_core.h"
#include "version.h"

static void on_shutdown(RedisModuleCtx *ctx, RedisModuleEvent event, uint64_t subevent, void *data) {
    (void)event, (void)subevent, (void)data;
    RAI_Shutdown(ctx);
}

static void on_event_loop(RedisModuleCtx *ctx, RedisModuleEvent event, uint64_t subevent, void *data) {
    (void)event, (void)data;
    if (subevent == REDISMODULE_SUBEVENT_EVENTLOOP_BEFORE_SLEEP) {
        RAI_UnblockWritableRuns(ctx);
        RAI_ExpireAsyncDags();
        RAI_PumpPipelines(ctx);
    }
}

__attribute__((visibility("default")))
int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (RedisModule_Init(ctx, "ai", REDISAI_MODULE_VERSION, REDISMODULE_APIVER_1) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    if (RedisModule_RegisterInfoFunc(ctx, RAI_Info_Modules) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    if (RAI_LLAPI_Export(ctx) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    if (RAI_Config_Check(ctx, argv, argc) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    if (RAI_PythonStart(ctx, argv, argc) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    if (RAI_Config_Load(ctx, argv, argc) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    if (RAI_RegisterDataTypes(ctx) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    if (RAI_RegisterCommands(ctx) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    RedisModule_SubscribeToServerEvent(ctx, RedisModuleEvent_Shutdown, on_shutdown);
    /* Just before Redis serves unblocked clients: runs that write their outputs wait out pauses. */
    RedisModule_SubscribeToServerEvent(ctx, RedisModuleEvent_EventLoop, on_event_loop);
    RedisModule_SubscribeToKeyspaceEvents(ctx, REDISMODULE_NOTIFY_STREAM, RAI_Pipeline_StreamEvent);
    /* Loads check RedisModule_IsIOError themselves: RDB and DUMP input is untrusted. */
    RedisModule_SetModuleOptions(ctx, REDISMODULE_OPTIONS_HANDLE_IO_ERRORS);
    return RAI_RunQueues_Start();
}
