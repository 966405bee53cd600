"""What the stateful fuzzer (test_fuzz_stateful.py) sends: the models, scripts and tensors it keeps
in the keyspace, and a generator of steps drawn from random.Random(seed) only (never from replies),
so one seed always gives the same steps.

Async DAGs (AI.DAGEXECUTEASYNC, AI.DAGRUNASYNC) are drawn among the DAGs: what they persist lands
after their reply, before the queue drains (the test's settle step), so the same checks hold.
DAGs also read a stream entry (XLOAD of x:in) and append to streams (XPERSIST to x:out, to the
stream they read, or to a string: WRONGTYPE).

A step is a dict: {"kind": ..., "classes": set of known bug classes it can hit, ...}. Kinds:
  cmd      one command on the master (or, with "on": "replica", on the replica): {"cmd": [...]}
  gated    a run whose script waits on a gate, a server-state change while it waits, then the gate
           opens: {"cmd": [...], "change": [...], "gate": channel, "done": channel}
  change   a server-state change with no run in flight: {"change": [...]}
  restart  SHUTDOWN [SAVE|NOSAVE] of the master and a start from its files: {"save": bool}
  failover FAILOVER of the master to the replica (roles swap)

Known classes (issue 11 items being fixed elsewhere; RAI_STATEFUL_FUZZ_SKIP leaves them out):
  dag_nontensor    a DAG model op with a non-tensor output (ONNX-ML map/sequence)      item 1
  pause            CLIENT PAUSE / FAILOVER while a run with outputs is in flight       item 2
  script_blocking  WAIT, BLMOVE, BZPOPMIN, CLIENT PAUSE, FAILOVER from a script        item 3
  script_eval      EVAL / FCALL from a script                                          item 5
  zero_size        zero-size outputs stored, replicated, rewritten                     item 7
  restore_bad      RESTORE of tensors AI.TENSORSET would refuse                        item 8
  inplace          TorchScript writing into its input                                  item 9
  leaks            ONNX zero-size / rank-0 outputs, model_execute of a non-tensor      item 14
"""
import functools

from models import LEGACY_SCRIPT

KNOWN_CLASSES = ("dag_nontensor", "pause", "script_blocking", "script_eval", "zero_size", "restore_bad",
                 "inplace", "leaks")

# --------------------------------------------------------------------------------------------------
# Scripts

# The gate: a run waits while anyone is subscribed to channel args[0] (the test closes that
# connection to open it: a disconnect goes through even while CLIENT PAUSE ALL holds every
# command), then publishes on args[1] (what the test waits for: the script is done) and returns a
# tensor of the kind args[2] names. Between polls some arithmetic, so that the loop does not keep
# Redis's lock from the main thread.
SCRIPT_SRC = """
def out_of_kind(t: Tensor, kind: str):
    if kind == "empty":
        return torch.zeros(0, 3)
    if kind == "rank0":
        return t.sum()
    return t + 1

def gated(tensors: List[Tensor], keys: List[str], args: List[str]):
    w = torch.ones(64, 64)
    while str(redis.asList(redis.execute("PUBSUB", ["NUMSUB", args[0]]))[1]) != "0":
        for i in range(20):
            w = torch.mm(w, w) / 64.0
    redis.execute("PUBLISH", [args[1], "done"])
    return out_of_kind(tensors[0], args[2])

def kind(tensors: List[Tensor], keys: List[str], args: List[str]):
    return out_of_kind(tensors[0], args[0])

def two(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0], tensors[0] * 2

def add2(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] + tensors[1]

def inplace(tensors: List[Tensor], keys: List[str], args: List[str]):
    tensors[0].add_(1)
    return tensors[0]

def call(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute(args[0], args[1:])
    return torch.ones(1)

def calllist(tensors: List[Tensor], keys: List[str], args: List[str]):
    r = redis.asList(redis.execute(args[0], args[1:]))
    return torch.tensor(len(r))

def runmodel(tensors: List[Tensor], keys: List[str], args: List[str]):
    return redisAI.model_execute(keys[0], tensors, int(args[0]))
"""
ENTRY_POINTS = ["gated", "kind", "two", "add2", "inplace", "call", "calllist", "runmodel"]
LEGACY_SRC = LEGACY_SCRIPT

# A Redis function for FCALL (loaded once on the master, replicated)
FUNCTION_SRC = ("#!lua name=fzlib\n"
                "redis.register_function('fzset', function(keys, args) return redis.call('set', keys[1], args[1]) end)")


# --------------------------------------------------------------------------------------------------
# Models

def _onnx(nodes, inputs, outputs, name):
    from onnx import helper
    from models import _onnx_bytes
    return _onnx_bytes(helper.make_graph(nodes, name, inputs, outputs))


def onnx_sequence_model():
    """x float [N] -> s = SequenceConstruct(x, x) (a sequence, not a tensor) and y = x + x."""
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"])
    s = helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, ["N"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])
    return _onnx((helper.make_node("SequenceConstruct", ["x", "x"], ["s"]), helper.make_node("Add", ["x", "x"], ["y"])),
                 (x,), (s, y), "seq")


def onnx_odd_shapes_model():
    """x float [N] -> e = x[0:0] (zero-size) and r = sum(x) (rank 0)."""
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"])
    e = helper.make_tensor_value_info("e", TensorProto.FLOAT, [0])
    r = helper.make_tensor_value_info("r", TensorProto.FLOAT, [])
    zero = helper.make_tensor("zero", TensorProto.INT64, [1], [0])
    nodes = (helper.make_node("Constant", [], ["z"], value=zero),
             helper.make_node("Slice", ["x", "z", "z"], ["e"]),
             helper.make_node("ReduceSum", ["x"], ["r"], keepdims=0))
    return _onnx(nodes, (x,), (e, r), "odd")


def torch_inplace_model():
    """forward(a) -> a.add_(1): writes into its input."""
    import torch
    from models import _torch_bytes

    class InPlace(torch.nn.Module):
        def forward(self, a: torch.Tensor) -> torch.Tensor:
            return a.add_(1)

    return _torch_bytes(InPlace())


def torch_odd_model():
    """forward(a) -> (a.sum() (rank 0), a[0:0] (zero-size))."""
    import torch
    from typing import Tuple
    from models import _torch_bytes

    class Odd(torch.nn.Module):
        def forward(self, a: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
            return a.sum(), a[0:0]

    return _torch_bytes(Odd())


class ModelSpec:
    """A model the fuzzer keeps: how to store it, which tensors fit its inputs, its output count,
    and the known classes that running it can hit (plain run, DAG)."""

    def __init__(self, key, store, inputs, n_out, run_classes=(), dag_classes=()):
        self.key, self.store, self.inputs, self.n_out = key, store, inputs, n_out
        self.run_classes, self.dag_classes = set(run_classes), set(dag_classes) | set(run_classes)


@functools.lru_cache(maxsize=None)
def model_specs():
    """Built once per process (TensorFlow is imported for the TFLITE model)."""
    from models import onnx_add_model, sklearn_logreg_onnx, torch_add_model, torch_two_outputs_model
    from tf_models import tf_mul_graph, tf_string_identity_graph, tflite_add_model
    t = lambda *a: [*a]  # noqa: E731
    return [
        ModelSpec("m:torch_add", t("TORCH", "CPU", "BLOB", torch_add_model()), ["t:f22", "t:f22"], 1),
        ModelSpec("m:torch_two", t("TORCH", "CPU", "BATCHSIZE", 4, "BLOB", torch_two_outputs_model()),
                  ["t:f22", "t:f12"], 2),
        ModelSpec("m:torch_odd", t("TORCH", "CPU", "BLOB", torch_odd_model()), ["t:f22"], 2, ["zero_size"]),
        ModelSpec("m:torch_inplace", t("TORCH", "CPU", "BLOB", torch_inplace_model()), ["t:f22"], 1, ["inplace"]),
        ModelSpec("m:onnx_add", t("ONNX", "CPU", "BLOB", onnx_add_model()), ["t:f22", "t:f22"], 1),
        ModelSpec("m:onnx_ml", t("ONNX", "CPU", "TAG", "iris", "BLOB", sklearn_logreg_onnx()), ["t:iris"], 2,
                  [], ["dag_nontensor"]),
        ModelSpec("m:onnx_seq", t("ONNX", "CPU", "BLOB", onnx_sequence_model()), ["t:f4"], 2, [], ["dag_nontensor"]),
        ModelSpec("m:onnx_odd", t("ONNX", "CPU", "BLOB", onnx_odd_shapes_model()), ["t:f4"], 2, ["zero_size", "leaks"]),
        ModelSpec("m:tf_mul", t("TF", "CPU", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "BLOB", tf_mul_graph()),
                  ["t:f22", "t:f22"], 1),
        ModelSpec("m:tf_str", t("TF", "CPU", "INPUTS", 1, "input_str", "OUTPUTS", 1, "c", "BLOB",
                                tf_string_identity_graph()), ["t:str"], 1),
        ModelSpec("m:tflite_add", t("TFLITE", "CPU", "BLOB", tflite_add_model()), ["t:f22", "t:f22"], 1),
    ]


# The tensors every batch starts with (AI.TENSORSET arguments after the key)
TENSORS = {
    "t:f22": ["FLOAT", 2, 2, "VALUES", 1, 2, 3, 4],
    "t:f12": ["FLOAT", 1, 2, "VALUES", -1, 0.5],
    "t:f4": ["FLOAT", 4, "VALUES", 1, 2, 3, 4],
    "t:iris": ["FLOAT", 2, 4, "VALUES", 5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3],
    "t:scalar": ["FLOAT", "VALUES", 3],
    "t:str": ["STRING", 2, "VALUES", "ab", "c"],
    "t:i64": ["INT64", 3, "VALUES", 0, 7, 9],
    "t:u8": ["UINT8", 2, 2, "BLOB", b"\x00\x01\xfe\xff"],
}
PLAIN = ["p:str", "p:list", "p:hash", "p:set", "p:zset", "p:stream", "p:n", "x:in"]
# A stream entry XLOAD reads (docs/COMMANDS.md §7.5): its fields are t:f22's and t:u8's bytes.
XLOAD = ["XLOAD", "x:in", "+", 2, "f22", "FLOAT", 2, 2, 2, "u8", "UINT8", 2, 2, 2]
OUTPUT_KEYS = ["o:%d" % i for i in range(6)]
SCRIPT = "s:main"
LEGACY = "s:legacy"


def restock_commands():
    """What each batch starts with: every model, script, tensor and plain key, stored afresh (the
    previous batch may have flushed, swapped or replaced any of them)."""
    # (a RESTORE or COPY may have left a value of another type at any of these keys)
    cmds = [["DEL", *[m.key for m in model_specs()], SCRIPT, LEGACY, *TENSORS, *PLAIN]]
    cmds += [["AI.MODELSTORE", m.key, *m.store] for m in model_specs()]
    cmds.append(["AI.SCRIPTSTORE", SCRIPT, "CPU", "TAG", "fz", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
                 "SOURCE", SCRIPT_SRC])
    cmds.append(["AI.SCRIPTSET", LEGACY, "CPU", "SOURCE", LEGACY_SRC])
    cmds += [["AI.TENSORSET", k, *a] for k, a in TENSORS.items()]
    cmds += [["SET", "p:str", "v"], ["RPUSH", "p:list", "a", "b"], ["HSET", "p:hash", "f", "v"],
             ["SADD", "p:set", "m"], ["ZADD", "p:zset", 1, "m"], ["XADD", "p:stream", "1-1", "f", "v"],
             ["SET", "p:n", 5], ["XADD", "x:in", "1-1", "f22", b"\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@",
                                  "u8", b"\x00\x01\xfe\xff"]]
    return cmds


# --------------------------------------------------------------------------------------------------
# redis.execute from scripts: every command family, with the known classes each can hit

def script_commands(rng):
    """(arguments, classes) of one Redis command for a script to run."""
    args, classes = rng.choice(script_command_list(rng.choice(PLAIN + OUTPUT_KEYS + list(TENSORS)),
                                                   rng.choice(OUTPUT_KEYS)))
    return args, set(classes)


def script_command_list(k, o):
    """Every (arguments, classes) a script may run, over key k and output key o."""
    return [
        (["SET", k, "x"], ()), (["GET", k], ()), (["INCR", "p:n"], ()), (["APPEND", "p:str", "z"], ()),
        (["DEL", k], ()), (["COPY", k, o, "REPLACE"], ()), (["RENAME", k, o], ()), (["UNLINK", k], ()),
        (["RPUSH", "p:list", "c"], ()), (["LPOP", "p:list"], ()), (["LRANGE", "p:list", "0", "-1"], ()),
        (["BLPOP", "p:list", "0"], ()), (["BRPOP", "p:none", "1"], ()),
        (["BLMOVE", "p:list", o, "LEFT", "RIGHT", "0"], ("script_blocking",)),
        (["BZPOPMIN", "p:zset", "0"], ("script_blocking",)),
        (["HSET", "p:hash", "g", "w"], ()), (["HGETALL", "p:hash"], ()), (["HINCRBY", "p:hash", "n", "2"], ()),
        (["SADD", "p:set", "n"], ()), (["ZADD", "p:zset", "2", "n"], ()), (["ZPOPMIN", "p:zset"], ()),
        (["XADD", "p:stream", "*", "g", "w"], ()), (["XRANGE", "p:stream", "-", "+"], ()),
        (["XREAD", "BLOCK", "0", "STREAMS", "p:stream", "$"], ()), (["XTRIM", "p:stream", "MAXLEN", "0"], ()),
        (["PUBLISH", "fz:ch", "m"], ()), (["PUBSUB", "CHANNELS"], ()), (["SUBSCRIBE", "fz:ch"], ()),
        (["EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", o, "e"], ("script_eval",)),
        (["EVAL_RO", "return redis.call('get', KEYS[1])", "1", k], ("script_eval",)),
        (["FCALL", "fzset", "1", o, "f"], ("script_eval",)),
        (["CLIENT", "PAUSE", "50", "WRITE"], ("script_blocking", "pause")),
        (["CLIENT", "LIST"], ()), (["CLIENT", "KILL", "TYPE", "pubsub"], ()),
        (["WAIT", "1", "0"], ("script_blocking",)), (["FAILOVER"], ("script_blocking",)),
        (["MULTI"], ()), (["EXEC"], ()), (["SWAPDB", "0", "1"], ()), (["SELECT", "1"], ()),
        (["EXPIRE", k, "100000"], ()), (["PERSIST", k], ()), (["TYPE", k], ()), (["DUMP", k], ()),
        (["AI.TENSORSET", o, "FLOAT", "2", "VALUES", "1", "2"], ()), (["AI.TENSORGET", k, "META"], ()),
        (["AI.MODELEXECUTE", "m:torch_add", "INPUTS", "2", "t:f22", "t:f22", "OUTPUTS", "1", o], ()),
        (["AI.SCRIPTEXECUTE", SCRIPT, "kind", "INPUTS", "1", "t:f22", "ARGS", "1", "t", "OUTPUTS", "1", o], ()),
        (["AI.DAGEXECUTE", "PERSIST", "1", o, "|>", "AI.TENSORSET", o, "FLOAT", "1", "VALUES", "2"], ()),
        (["AI.MODELDEL", "m:tf_mul"], ()), (["AI.SCRIPTDEL", LEGACY], ()), (["AI.INFO", SCRIPT], ()),
        (["AI.CONFIG", "GET", "MODEL_CHUNK_SIZE"], ()),
    ]


# --------------------------------------------------------------------------------------------------
# Server-state changes

def state_change(rng, keys_in_use):
    """(command, classes) of a change of server state; `keys_in_use` are keys a queued run reads
    or writes (RESTORE/COPY aim at them)."""
    source = rng.choice(list(TENSORS) + [m.key for m in model_specs()[:4]] + [SCRIPT, "p:str"])
    cmd, classes = rng.choice(state_change_list(source, rng.choice(keys_in_use)))
    return cmd, set(classes)


def state_change_list(source, target):
    """Every (command, classes) of a state change; RESTORE-FROM and COPY put source at target."""
    return [
        (["CLIENT", "PAUSE", "60000", "WRITE"], ("pause",)),
        (["CLIENT", "PAUSE", "300", "ALL"], ("pause",)),
        (["DEBUG", "RELOAD"], ()), (["BGREWRITEAOF"], ()), (["BGSAVE"], ()), (["SWAPDB", "0", "1"], ()),
        (["FLUSHALL"], ()), (["FLUSHALL", "ASYNC"], ()), (["FLUSHDB"], ()),
        (["RESTORE-FROM", source, target], ()),  # DUMP source, then RESTORE target 0 <dump> REPLACE
        (["COPY", source, target, "REPLACE"], ()), (["DEL", target], ()),
        (["FAILOVER"], ("pause",)),
    ]


# --------------------------------------------------------------------------------------------------
# The step generator

OUTPUT_KINDS = {"t": (), "rank0": (), "empty": ("zero_size",)}


class StepGen:
    def __init__(self, rng, skip=frozenset()):
        self.rng, self.skip = rng, frozenset(skip)
        self.specs = model_specs()
        self.n = 0

    def step(self):
        """One step whose classes are not skipped (redrawn until one fits)."""
        while True:
            s = self._draw()
            if not (s["classes"] & self.skip):
                self.n += 1
                return s

    def _draw(self):
        x = self.rng.random()
        if x < 0.01:
            return {"kind": "restart", "save": self.rng.random() < 0.5, "classes": set()}
        if x < 0.03:
            return {"kind": "failover", "classes": set()}
        if x < 0.16:
            return self.gated()
        if x < 0.24:
            keys = list(TENSORS) + OUTPUT_KEYS + [m.key for m in self.specs] + [SCRIPT]
            cmd, classes = state_change(self.rng, keys)
            return {"kind": "change", "change": cmd, "classes": classes}
        if x < 0.27:
            return self.restore_bad()
        if x < 0.30:  # read-only DAGs are what a replica runs
            cmd, classes = self.dag(ro=True)
            return {"kind": "cmd", "cmd": cmd, "classes": classes, "on": "replica"}
        cmd, classes = self.command()
        return {"kind": "cmd", "cmd": cmd, "classes": classes}

    # ---- runs

    def pick(self, seq, k=1):
        return [self.rng.choice(seq) for _ in range(k)]

    def outputs(self, n):
        return self.rng.sample(OUTPUT_KEYS, n)

    def timeout(self):
        return ["TIMEOUT", self.rng.choice([1, 5000, 60000])] if self.rng.random() < 0.2 else []

    def command(self):
        rng = self.rng
        x = rng.random()
        if x < 0.3:
            return self.dag()
        m = rng.choice(self.specs)
        if x < 0.5:
            return (["AI.MODELEXECUTE", m.key, "INPUTS", len(m.inputs), *m.inputs, "OUTPUTS", m.n_out,
                     *self.outputs(m.n_out), *self.timeout()], set(m.run_classes))
        if x < 0.55:
            return (["AI.MODELRUN", m.key, *self.timeout(), "INPUTS", *m.inputs, "OUTPUTS", *self.outputs(m.n_out)],
                    set(m.run_classes))
        if x < 0.8:
            return self.scriptexecute()
        if x < 0.85:
            fn, ins = rng.choice([("bar", ["t:f22", "t:f22"]), ("bar_variadic", ["t:f22", "$", "t:f12", "t:f12"])])
            return (["AI.SCRIPTRUN", LEGACY, fn, *self.timeout(), "INPUTS", *ins, "OUTPUTS", rng.choice(OUTPUT_KEYS)],
                    set())
        k = rng.choice(list(TENSORS) + OUTPUT_KEYS)
        return rng.choice([
            (["AI.TENSORGET", k, rng.choice(["META", "VALUES", "BLOB"])], set()),
            (["AI.TENSORSET", rng.choice(OUTPUT_KEYS), *TENSORS[rng.choice(list(TENSORS))]], set()),
            (["COPY", k, rng.choice(OUTPUT_KEYS), "REPLACE"], set()),
            (["AI.MODELGET", rng.choice(self.specs).key, "META"], set()),
            (["AI.INFO", SCRIPT], set()),
            (["AI.STATS", rng.choice(self.specs).key], set()),
            (["AI.DAGRUNINFO", "dag:%d{%s}" % (rng.randint(1, 40), rng.choice(list(TENSORS)))], set()),
        ])

    def scriptexecute(self):
        rng = self.rng
        fn = rng.choice(["kind", "two", "add2", "inplace", "call", "call", "calllist", "runmodel"])
        classes, keys, args = set(), [], []
        ins = self.pick(["t:f22", "t:f12", "t:f4", "t:scalar", "t:i64"], 2)
        n_out = 1
        if fn == "kind":
            kind = rng.choice(list(OUTPUT_KINDS))
            args, classes = [kind], set(OUTPUT_KINDS[kind])
        elif fn == "two":
            n_out = 2
        elif fn == "inplace":
            classes = {"inplace"}
        elif fn in ("call", "calllist"):
            args, classes = script_commands(rng)
            keys = [a for a in args[1:] if ":" in a and a.split(":")[0] in ("p", "o", "t")][:3]
        elif fn == "runmodel":
            m = rng.choice(self.specs)
            keys, ins, n_out = [m.key], list(m.inputs), m.n_out
            args = [str(m.n_out)]
            classes = set(m.run_classes)
            if m.key in ("m:onnx_ml", "m:onnx_seq"):
                classes.add("leaks")  # model_execute of a non-tensor output
            n_out = 1 if rng.random() < 0.5 else n_out
        cmd = ["AI.SCRIPTEXECUTE", SCRIPT, fn]
        if keys:
            cmd += ["KEYS", len(keys), *keys]
        cmd += ["INPUTS", len(ins), *ins]
        if args:
            cmd += ["ARGS", len(args), *args]
        cmd += ["OUTPUTS", n_out, *self.outputs(n_out), *self.timeout()]
        return cmd, classes

    def dag(self, gate=None, ro=False):
        """A DAG of 1-4 ops over LOADed tensors and earlier ops' outputs; with `gate` (gate, done
        channels, output kind), its first op is the gated script."""
        rng = self.rng
        classes = set()
        load = sorted(set(self.pick(list(TENSORS), rng.randint(0, 3))))
        xload = rng.random() < 0.15
        local = list(load) + (["f22", "u8"] if xload else []) or ["t:f22"]
        ops, made = [], []
        if gate:
            ops.append(["AI.SCRIPTEXECUTE", SCRIPT, "gated", "INPUTS", 1, "t:f22", "ARGS", 3, *gate, "OUTPUTS", 1, "g"])
            made.append("g")
            if "t:f22" not in load:
                load.append("t:f22")
        for i in range(rng.randint(1, 4)):
            x = rng.random()
            if x < 0.2:
                name = "l%d" % i
                ops.append(["AI.TENSORSET", name, *TENSORS[rng.choice(list(TENSORS))]])
                made.append(name)
                local.append(name)
            elif x < 0.35 and (made or local):
                ops.append(["AI.TENSORGET", rng.choice(made or local), rng.choice(["META", "VALUES", "BLOB"])])
            elif x < 0.7:
                m = rng.choice(self.specs)
                ins = [i_ if (i_ in load or rng.random() < 0.3) else rng.choice(local) for i_ in m.inputs]
                for i_ in ins:
                    if i_ in TENSORS and i_ not in load:
                        load.append(i_)
                outs = ["r%d_%d" % (i, j) for j in range(m.n_out)]
                ops.append(["AI.MODELEXECUTE", m.key, "INPUTS", len(ins), *ins, "OUTPUTS", len(outs), *outs])
                made += outs
                classes |= m.dag_classes
            else:
                kind = rng.choice(list(OUTPUT_KINDS))
                src = rng.choice(made + local)
                name = "k%d" % i
                ops.append(["AI.SCRIPTEXECUTE", SCRIPT, "kind", "INPUTS", 1, src, "ARGS", 1, kind, "OUTPUTS", 1, name])
                made.append(name)
                classes |= set(OUTPUT_KINDS[kind])
            if rng.random() < 0.3 and made:
                ops.append(["AI.TENSORGET", rng.choice(made), "META"])
        persist = sorted(set(self.pick(made, rng.randint(0, 2)))) if made and not ro else []
        if gate and not persist:
            persist = ["g"]
        ro = ro or not persist and rng.random() < 0.3
        name = rng.choice(["AI.DAGEXECUTE", "AI.DAGRUN"]) + ("_RO" if ro else "")
        if not ro and not gate and rng.random() < 0.3:  # answered at once; PERSIST lands later
            name += "ASYNC"
        cmd = [name]
        if load:
            cmd += ["LOAD", len(load), *load]
        if persist:
            cmd += ["PERSIST", len(persist), *persist]
        if xload:
            cmd += XLOAD
        if made and not ro and rng.random() < 0.15:
            xpersist = sorted(set(self.pick(made, rng.randint(1, 2))))
            cmd += ["XPERSIST", rng.choice(["x:out", "x:in", "p:str"]), len(xpersist), *xpersist]
        if not load and not persist or rng.random() < 0.2:
            cmd += ["ROUTING", rng.choice(list(TENSORS))]
        if name.startswith("AI.DAGEXECUTE"):
            cmd += self.timeout() if not gate else []
        for op in ops:
            cmd += ["|>", *op]
        return cmd, classes

    # ---- gated runs and state changes

    def gated(self):
        rng = self.rng
        n = self.n
        gate, done = "gate:%d" % n, "done:%d" % n
        kind = rng.choice(list(OUTPUT_KINDS))
        classes = set(OUTPUT_KINDS[kind])
        if rng.random() < 0.5:
            out = rng.choice(OUTPUT_KEYS)
            cmd = ["AI.SCRIPTEXECUTE", SCRIPT, "gated", "INPUTS", 1, rng.choice(["t:f22", "t:f4"]), "ARGS", 3, gate,
                   done, kind, "OUTPUTS", 1, out]
            used = ["t:f22", "t:f4", SCRIPT, out]
        else:
            cmd, more = self.dag(gate=(gate, done, kind))
            classes |= more
            used = [a for a in cmd if isinstance(a, str) and a.split(":")[0] in ("t", "m", "s")] or ["t:f22"]
        change, c = state_change(rng, used)
        return {"kind": "gated", "cmd": cmd, "change": change, "gate": gate, "done": done, "classes": classes | c}

    def sweep(self):
        """Each piece once (those the random steps may miss at a small budget): every model by
        every run form, every script output kind plain and in a DAG, every redis.execute family,
        every state change during a gated run with outputs, every malformed RESTORE."""
        steps = []
        add = lambda kind, classes, **kw: steps.append({"kind": kind, "classes": set(classes), **kw})  # noqa: E731
        for m in self.specs:
            outs = OUTPUT_KEYS[:m.n_out]
            locs = ["r%d" % j for j in range(m.n_out)]
            add("cmd", m.run_classes, cmd=["AI.MODELEXECUTE", m.key, "INPUTS", len(m.inputs), *m.inputs,
                                           "OUTPUTS", m.n_out, *outs])
            add("cmd", m.run_classes, cmd=["AI.MODELRUN", m.key, "INPUTS", *m.inputs, "OUTPUTS", *outs])
            dag = ["LOAD", len(set(m.inputs)), *sorted(set(m.inputs))]
            op = ["|>", "AI.MODELEXECUTE", m.key, "INPUTS", len(m.inputs), *m.inputs, "OUTPUTS", m.n_out, *locs]
            add("cmd", m.dag_classes, cmd=["AI.DAGEXECUTE", *dag, "PERSIST", m.n_out, *locs, *op])
            gets = [a for r in locs for a in ("|>", "AI.TENSORGET", r, "META")]
            add("cmd", m.dag_classes, cmd=["AI.DAGRUN", *dag, *op, *gets])
            add("cmd", m.dag_classes, cmd=["AI.DAGEXECUTE_RO", *dag, *op, "|>", "AI.TENSORGET", locs[-1], "VALUES"],
                on="replica")
            leaks = {"leaks"} if m.key in ("m:onnx_ml", "m:onnx_seq") else set()
            add("cmd", m.run_classes | leaks, cmd=["AI.SCRIPTEXECUTE", SCRIPT, "runmodel", "KEYS", 1, m.key, "INPUTS",
                                                   len(m.inputs), *m.inputs, "ARGS", 1, m.n_out, "OUTPUTS", 1, "o:0"])
        for kind, classes in OUTPUT_KINDS.items():
            add("cmd", classes, cmd=["AI.SCRIPTEXECUTE", SCRIPT, "kind", "INPUTS", 1, "t:f22", "ARGS", 1, kind,
                                     "OUTPUTS", 1, "o:1"])
            add("cmd", classes, cmd=["AI.DAGEXECUTE", "LOAD", 1, "t:f22", "PERSIST", 1, "k", "|>", "AI.SCRIPTEXECUTE",
                                     SCRIPT, "kind", "INPUTS", 1, "t:f22", "ARGS", 1, kind, "OUTPUTS", 1, "k", "|>",
                                     "AI.TENSORGET", "k", "BLOB"])
        add("cmd", {"inplace"}, cmd=["AI.SCRIPTEXECUTE", SCRIPT, "inplace", "INPUTS", 1, "t:f22", "OUTPUTS", 1, "o:2"])
        for args, classes in script_command_list("p:list", "o:3"):
            add("cmd", classes, cmd=["AI.SCRIPTEXECUTE", SCRIPT, "call", "KEYS", 2, "p:list", "o:3", "INPUTS", 1,
                                     "t:f22", "ARGS", len(args), *args, "OUTPUTS", 1, "o:4"])
        for i, (change, classes) in enumerate(state_change_list("t:f4", "o:5")):
            gate, done = "gate:s%d" % i, "done:s%d" % i
            add("gated", classes, change=change, gate=gate, done=done,
                cmd=["AI.SCRIPTEXECUTE", SCRIPT, "gated", "INPUTS", 1, "t:f22", "ARGS", 3, gate, done, "t",
                     "OUTPUTS", 1, "o:5"])
        for _ in range(8):
            steps.append(self.restore_bad())
        return [s for s in steps if not s["classes"] & self.skip]

    def restore_bad(self):
        """RESTORE of a tensor payload AI.TENSORSET would refuse (item 8), over a key in use."""
        from dump_payloads import OP_STRING, OP_UINT, TENSOR_MODULE_ID, build_body, with_trailer
        rng = self.rng
        code_bits_dims_blob_extra = rng.choice([
            (7, 8, [2], b"ab\x00c\x00", [0, 1]),  # STRING offset mid-element
            (7, 8, [2], b"ab\x00c\x00", [3, 0]),  # decreasing offsets
            (7, 8, [2], b"ab\x00c", [0, 3]),  # no final NUL
            (6, 8, [2], b"\x07\x01", []),  # BOOL byte 7
            (2, 32, [0, 5], b"", []),  # a 0 in the shape
        ])
        code, bits, dims, blob, extra = code_bits_dims_blob_extra
        values = [(OP_UINT, code), (OP_UINT, bits), (OP_UINT, len(dims))] + [(OP_UINT, d) for d in dims]
        values += [(OP_STRING, blob)] + [(OP_UINT, e) for e in extra]
        payload = with_trailer(build_body(TENSOR_MODULE_ID | 4, values), 9)
        return {"kind": "cmd", "cmd": ["RESTORE", rng.choice(OUTPUT_KEYS + ["t:f22"]), 0, payload, "REPLACE"],
                "classes": {"restore_bad"}}
