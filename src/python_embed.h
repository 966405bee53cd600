/* Starting the embedded CPython interpreter inside redis-server. */
#ifndef RAI_PYTHON_EMBED_H
#define RAI_PYTHON_EMBED_H

#include "redismodule.h"

/* Promotes libpython to global symbol scope, starts the interpreter on the virtual environment
 * (PYTHON_VENV load-time argument, else the one the module was built with), puts the checkout
 * holding the Python backend adapters on sys.path, imports the Cython core, then releases the GIL
 * for good. REDISMODULE_OK or REDISMODULE_ERR (logged). */
int RAI_PythonStart(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);

#endif
