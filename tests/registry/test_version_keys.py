from __future__ import annotations

import os
import pickle
import subprocess
import sys

from champion.registry import VersionKey


def test_a_version_key_from_another_process_finds_its_version() -> None:
    # A key keeps its hash; strings hash differently in each process, so a key sent from
    # another one (a worker) must not bring that process's hash along.
    made_elsewhere = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pickle, sys; from champion.registry import VersionKey; "
            "sys.stdout.buffer.write(pickle.dumps(VersionKey('churn', 3)))",
        ],
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout
    key = pickle.loads(made_elsewhere)
    assert key == VersionKey("churn", 3)
    assert {VersionKey("churn", 3): "loaded"}[key] == "loaded"
    assert sorted([VersionKey("churn", 10), key]) == [key, VersionKey("churn", 10)]
