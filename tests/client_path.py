"""Puts the repository's client package (client/redisai_client) on the import path: the suite tests
it from the checkout, in the suite's venv (redis-py 4.6) and in build/venv-client (redis-py 8)."""
import sys
from pathlib import Path

CLIENT_DIR = Path(__file__).resolve().parent.parent / "client"
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))
