"""The demo city for tests: seeded once per test run and seed, then copied where it is needed.

Seeding the city takes half a minute; the tests that only read it, or change their own copy,
get a copy of one seeded database and its ``var/`` folder (the secret, the trust bundle)
instead. The copy is the city ``run_demo`` seeded in this run, from this run's code: the
first worker to need a seed seeds it under a lock, the others wait and copy. Tests of
seeding itself (the same seed gives the same city, a reset) still seed their own.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest

from twonets.core.config import Settings
from twonets.demo import run_demo

SEED = 11
DATABASE = "city.db"


def _cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Under pytest-xdist each worker's base folder sits in the run's own; the run's folder is
    # shared by its workers and by no other run.
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def copy_of_demo(
    tmp_path_factory: pytest.TempPathFactory,
    folder: Path,
    *,
    seed: int = SEED,
    database: str = DATABASE,
) -> tuple[str, Path]:
    """Copy the demo city of ``seed`` (scale 1) into ``folder``: its SQLite URL and var folder.

    ``run_demo`` on the copy, with the same seed, returns the city's logins without seeding.
    """
    cache = _cache(tmp_path_factory) / f"demo-city-{seed}"
    cache.parent.mkdir(parents=True, exist_ok=True)
    with (cache.parent / f"demo-city-{seed}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (cache / "seeded").exists():
            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir()
            settings = Settings(
                var_dir=cache / "var",
                database_url=f"sqlite:///{cache / DATABASE}",
                events_url=None,
            )
            run_demo(settings, scale=1, seed=seed)
            (cache / "seeded").touch()
    folder.mkdir(parents=True, exist_ok=True)
    for name in (DATABASE, DATABASE + "-wal", DATABASE + "-shm"):
        if (cache / name).exists():
            shutil.copyfile(cache / name, folder / name.replace(DATABASE, database))
    shutil.copytree(cache / "var", folder / "var", dirs_exist_ok=True)
    return f"sqlite:///{folder / database}", folder / "var"
