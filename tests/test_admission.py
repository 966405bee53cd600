"""Admission by time-to-response (docs/BEHAVIOUR.md §1.1), on with ADMISSION_CONTROL yes: a run or
DAG whose TIMEOUT its queue cannot meet by the estimates is refused at once, and a queue hands out
the earliest deadline first. Off (the default), RedisAI 1.2's behaviour: queued, then TIMEDOUT.

No timing: the one worker is held by a script spinning on a gate model while runs queue behind
it. Estimates come from measured runs of a script whose loop takes well over a millisecond, so
a TIMEOUT of 1 ms behind three of them cannot be met on any machine.
"""
import pytest
import redis

from gate import hold_worker, open_gate, queue_behind, store_gate
from models import SLOW_SCRIPT
from redis_server import running_server

REFUSED = "TIMEOUT cannot be met: the estimated queue wait and run time exceed it"
WORK = SLOW_SCRIPT + '''
def mark(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("RPUSH", keys[0], args[0])
'''
LOOP = "1000000"  # tens of milliseconds of TorchScript, far above 1 ms anywhere


def start(admission):
    return running_server(module_args=("ADMISSION_CONTROL", admission))


def store_work(c):
    store_gate(c)
    c.execute_command("AI.SCRIPTSTORE", "w", "CPU", "ENTRY_POINTS", 2, "slow", "mark", "SOURCE", WORK)
    c.execute_command("AI.TENSORSET", "a", "FLOAT", 1, "VALUES", 1)


def slow_run(*timeout):
    return ("AI.SCRIPTEXECUTE", "w", "slow", "INPUTS", 1, "a", "ARGS", 1, LOOP, "OUTPUTS", 1, "out", *timeout)


def test_the_setting_defaults_to_off_and_is_checked():
    with start("no") as s:
        c = s.client()
        assert c.execute_command("AI.CONFIG", "GET", "ADMISSION_CONTROL") == b"no"
        assert c.execute_command("AI.CONFIG", "ADMISSION_CONTROL", "YES") == b"OK"
        assert c.execute_command("AI.CONFIG", "GET", "ADMISSION_CONTROL") == b"yes"
        with pytest.raises(redis.ResponseError, match="ADMISSION_CONTROL takes yes or no"):
            c.execute_command("AI.CONFIG", "ADMISSION_CONTROL", "maybe")


@pytest.mark.parametrize("admission", ["yes", "no"])
def test_a_timeout_behind_known_work_is_refused_at_once_only_when_on(admission):
    with start(admission) as s:
        c = s.client()
        store_work(c)
        for _ in range(2):  # the estimate: two measured runs
            assert c.execute_command(*slow_run()) == b"OK"
        held = hold_worker(s)
        behind = queue_behind(s, [slow_run() for _ in range(3)])
        late = [slow_run("TIMEOUT", 1),
                ("AI.DAGEXECUTE", "LOAD", 1, "a", "TIMEOUT", 1, "|>",
                 "AI.SCRIPTEXECUTE", "w", "slow", "INPUTS", 1, "a", "ARGS", 1, LOOP, "OUTPUTS", 1, "b")]
        if admission == "yes":
            for command in late:
                with pytest.raises(redis.ResponseError) as e:
                    c.execute_command(*command)  # answered while the worker is still held
                assert str(e.value) == REFUSED
            with pytest.raises(redis.ResponseError, match="TIMEOUT cannot be met"):
                c.execute_command("AI.DAGEXECUTEASYNC", *late[1][1:])
            patient = queue_behind(s, [slow_run("TIMEOUT", 600000)])
            assert open_gate(s, held, *behind, *patient) == [b"OK"] * 5
        else:
            waiting = queue_behind(s, late)
            replies = open_gate(s, held, *behind, *waiting)
            assert replies[:4] == [b"OK"] * 4 and replies[4] == b"TIMEDOUT" and replies[5] == b"TIMEDOUT"


@pytest.mark.parametrize("admission,order", [("yes", [b"A", b"C", b"B"]), ("no", [b"A", b"B", b"C"])])
def test_earliest_deadline_first_only_when_on(admission, order):
    """A has no TIMEOUT (due a second after queueing), B is due in 600 s, C in 300 s."""
    with start(admission) as s:
        c = s.client()
        store_work(c)
        held = hold_worker(s)
        runs = []
        for name, timeout in (("A", ()), ("B", ("TIMEOUT", 600000)), ("C", ("TIMEOUT", 300000))):
            # one at a time: each is queued before the next is sent, so the queueing order is known
            runs += queue_behind(s, [("AI.SCRIPTEXECUTE", "w", "mark", "KEYS", 1, "order", "ARGS", 1, name, *timeout)])
        assert open_gate(s, held, *runs) == [b"OK"] * 4
        assert c.lrange("order", 0, -1) == order
