/* Embedded CPython start-up. Facts behind each step: docs/EMBEDDING.md. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <unistd.h>

#include "python_embed.h"

PyMODINIT_FUNC PyInit_redisai_core(void);

/* The venv's interpreter path: its pyvenv.cfg tells Python where site-packages are. */
static const char *venv_python(RedisModuleString **argv, int argc, char *buf, size_t buflen) {
    const char *venv = RAI_DEFAULT_VENV;
    for (int i = 0; i + 1 < argc; i += 2) {
        size_t len;
        const char *key = RedisModule_StringPtrLen(argv[i], &len);
        if (len == strlen("PYTHON_VENV") && strncasecmp(key, "PYTHON_VENV", len) == 0)
            venv = RedisModule_StringPtrLen(argv[i + 1], &len);
    }
    snprintf(buf, buflen, "%s/bin/python", venv);
    return buf;
}

/* Python errors go to the Redis log: stderr is lost once Redis daemonizes. */
static void log_python_error(RedisModuleCtx *ctx, const char *what) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *text = value ? PyObject_Str(value) : NULL;
    const char *msg = text ? PyUnicode_AsUTF8(text) : NULL;
    RedisModule_Log(ctx, "warning", "%s: %s", what, msg ? msg : "unknown Python error");
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    PyErr_Clear();
}

static int holds_adapters(const char *root) {
    char init[PATH_MAX + 64];
    snprintf(init, sizeof(init), "%s/redisai_module/backends/__init__.py", root);
    return access(init, R_OK) == 0;
}

/* The checkout whose redisai_module/backends/ package holds the Python backend adapters (imported
 * from source: an edit needs a restart, not a rebuild). The one around the loaded module
 * (<root>/install/redisai.so), so a tree copied elsewhere finds its own; else the one it was
 * built from (a module copied out of its checkout). */
static int find_source_root(char *root) {
    Dl_info info;
    if (dladdr((void *)find_source_root, &info) && info.dli_fname && realpath(info.dli_fname, root)) {
        char *slash = strrchr(root, '/');
        if (slash) *slash = '\0';               /* <root>/install */
        slash = strrchr(root, '/');
        if (slash && slash != root) *slash = '\0';  /* <root> */
        if (holds_adapters(root))
            return 1;
    }
    snprintf(root, PATH_MAX, "%s", RAI_SOURCE_ROOT);
    return holds_adapters(root);
}

/* Appended: the venv's own packages keep precedence over anything else in the checkout. */
static int add_source_root_to_path(RedisModuleCtx *ctx) {
    char root[PATH_MAX];
    if (!find_source_root(root)) {
        RedisModule_Log(ctx, "warning", "no redisai_module/backends/__init__.py beside the module "
                        "nor in %s: the backend adapters cannot be imported", RAI_SOURCE_ROOT);
        return 0;
    }
    PyObject *path = PySys_GetObject("path");  /* borrowed */
    PyObject *entry = PyUnicode_DecodeFSDefault(root);
    int ok = path && entry && PyList_Append(path, entry) == 0;
    Py_XDECREF(entry);
    if (!ok)
        log_python_error(ctx, "cannot extend sys.path");
    return ok;
}

int RAI_PythonStart(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    /* Redis dlopens modules RTLD_LOCAL; extension modules (numpy, torch) need libpython's
     * symbols in the global scope. */
    if (!dlopen(RAI_LIBPYTHON_SONAME, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD)) {
        RedisModule_Log(ctx, "warning", "cannot promote %s to global scope: %s",
                        RAI_LIBPYTHON_SONAME, dlerror());
        return REDISMODULE_ERR;
    }
    if (Py_IsInitialized()) {
        RedisModule_Log(ctx, "warning", "another module already started a Python interpreter");
        return REDISMODULE_ERR;
    }
    if (PyImport_AppendInittab("redisai_core", PyInit_redisai_core) != 0) {
        RedisModule_Log(ctx, "warning", "cannot register the redisai_core module");
        return REDISMODULE_ERR;
    }

    char program[4096];
    venv_python(argv, argc, program, sizeof(program));
    if (access(program, X_OK) != 0) {
        RedisModule_Log(ctx, "warning", "no Python interpreter at %s: build the module with "
                        "opt/setup.sh or give PYTHON_VENV <virtualenv dir>", program);
        return REDISMODULE_ERR;
    }
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);  /* no PYTHON* env vars, no signal handlers, no argv */
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    config.site_import = 1;
    PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, program);
    if (!PyStatus_Exception(status))
        status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        RedisModule_Log(ctx, "warning", "cannot start Python (%s): %s", program,
                        status.err_msg ? status.err_msg : "unknown error");
        return REDISMODULE_ERR;
    }

    if (!add_source_root_to_path(ctx))
        return REDISMODULE_ERR;
    PyObject *core = PyImport_ImportModule("redisai_core");
    if (!core) {
        log_python_error(ctx, "cannot import redisai_core");
        return REDISMODULE_ERR;
    }
    Py_DECREF(core);
    /* From here on the Redis threads run without the GIL; Cython handlers take it when needed. */
    PyEval_SaveThread();
    return REDISMODULE_OK;
}
