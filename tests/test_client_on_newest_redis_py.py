"""The client's tests (test_client*.py) again, in build/venv-client: redis-py as pinned in
requirements/client-test.txt (8.x, RESP3 by default), where the suite's venv has redis-py 4.6 for
redisai-py. One pytest run inside this one, so the suite keeps one summary line."""
import os
import re
import subprocess
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
CLIENT_PYTHON = ROOT / "build" / "venv-client" / "bin" / "python"
CLIENT_TESTS = ["tests/test_client.py", "tests/test_client_asyncio.py", "tests/test_client_cluster.py"]


def pinned_redis_py():
    text = (ROOT / "requirements" / "client-test.txt").read_text()
    return re.search(r"^redis==(\S+)$", text, re.M).group(1)


def test_the_client_passes_its_tests_on_the_newest_redis_py():
    assert CLIENT_PYTHON.exists(), "build/venv-client is missing: `python3 get_deps.py --test` makes it"
    version = subprocess.run([str(CLIENT_PYTHON), "-c", "import redis; print(redis.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == pinned_redis_py() and int(version.split(".")[0]) >= 5
    assert version != redis.__version__, "the inner run must use another redis-py than this venv's"
    inner = subprocess.run([str(CLIENT_PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", *CLIENT_TESTS],
                           cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=900)
    summary = inner.stdout.strip().splitlines()[-1] if inner.stdout.strip() else ""
    assert inner.returncode == 0, inner.stdout[-10000:] + inner.stderr[-3000:]
    # every test ran but redisai-py's comparison (redisai-py is not in that venv)
    assert re.fullmatch(r"=* ?\d+ passed, 1 skipped(, \d+ warnings?)? in .*", summary), summary
