"""Ray clean-up after an interrupted run: only unfinished tasks are cancelled (a finished one
keeps its result), and a task that cannot be cancelled is logged, not hidden."""

from __future__ import annotations

import logging
import time

import pytest

from fluxfit.parallel import _cancel_ray


def test_only_unfinished_tasks_are_cancelled(ray_local):
    ray = ray_local

    @ray.remote(max_retries=0)
    def quick():
        return 42

    @ray.remote(max_retries=0)
    def slow():
        time.sleep(60)

    done = quick.remote()
    assert ray.get(done) == 42
    running = slow.remote()
    _cancel_ray(ray, {done: None, running: None})
    assert ray.get(done) == 42
    with pytest.raises((ray.exceptions.TaskCancelledError, ray.exceptions.WorkerCrashedError)):
        ray.get(running, timeout=30)


def test_cancel_failures_are_logged(ray_local, monkeypatch, caplog):
    ray = ray_local

    @ray.remote(max_retries=0)
    def slow():
        time.sleep(60)

    ref = slow.remote()

    def refuse(ref, force=False):
        raise ValueError("cannot cancel this one")

    monkeypatch.setattr(ray, "cancel", refuse)
    with caplog.at_level(logging.WARNING, logger="fluxfit.parallel"):
        _cancel_ray(ray, {ref: None})
    assert "could not cancel Ray task" in caplog.text
    assert "ValueError: cannot cancel this one" in caplog.text
    monkeypatch.undo()
    ray.cancel(ref, force=True)
