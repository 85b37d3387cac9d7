"""``checkpoint-server serve --workers N``: N uvicorn worker processes sharing one socket.

Each worker is a fresh process (uvicorn spawns it and calls ``app``), with its own engine
and connection pool. The settings ``serve`` resolved (config file, flags, ``--db``) reach
the workers as JSON in the environment, exactly as resolved, instead of being looked up
again by each. Nothing a request relies on lives in one worker's memory: visits, counts,
enrolment codes and tokens are rows, and so are the rate-limit buckets on PostgreSQL
(``server/ratelimit.py``). So several workers need PostgreSQL: SQLite takes one writer at a
time and keeps its rate limits in its one process, and ``serve`` refuses ``--workers`` > 1
on it. Log lines carry the worker's process id, so an access log shows who answered.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from server.app import create_app
from server.config import Settings
from server.db import create_db_engine

SETTINGS_ENV = "CHECKPOINT_SERVER_WORKER_SETTINGS"


def app() -> FastAPI:
    """The application of one worker (uvicorn's factory, called in the worker process)."""
    settings = Settings.model_validate_json(os.environ[SETTINGS_ENV])
    return create_app(settings, create_db_engine(settings.db_url))


def log_config() -> dict[str, Any]:
    """uvicorn's logging, each line prefixed with the process id of the worker that wrote it."""
    config = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["fmt"] = "[%(process)d] " + formatter["fmt"]
    return config


def serve(settings: Settings, workers: int) -> None:
    """Run ``workers`` processes on the settings' host and port until stopped."""
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    server = settings.server
    uvicorn.run(
        "server.workers:app",
        factory=True,
        workers=workers,
        host=server.host,
        port=server.port,
        log_level="info",
        log_config=log_config(),
    )
