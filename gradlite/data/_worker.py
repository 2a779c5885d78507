"""Worker processes for ``DataLoader(num_workers=N)``.

Each worker is a process that receives ``(batch number, indices)`` on its own task
queue, reads and transforms that batch (``fetch``), and puts ``(batch number, batch)``
on the shared result queue. The main process hands batches out round robin, keeps
``prefetch_factor`` batches in flight per worker, and yields them back in order.

Randomness: worker ``i`` re-seeds gradlite's global generator with ``base_seed + i``
(``base_seed`` drawn by the loader each epoch), so random augmentations differ between
workers and epochs, and a seeded run is reproducible, as in PyTorch.
"""
import multiprocessing
import queue
import traceback
from collections import namedtuple

from .. import random as _random

WorkerInfo = namedtuple("WorkerInfo", ["id", "num_workers", "seed", "dataset"])
_worker_info = None


def get_worker_info():
    """Inside a DataLoader worker: its ``WorkerInfo(id, num_workers, seed, dataset)``;
    in the main process: None."""
    return _worker_info


class _Failure:
    """An exception raised in a worker, sent back as text (tracebacks do not pickle)."""

    def __init__(self, worker_id, error):
        self.text = (f"DataLoader worker {worker_id} failed with {type(error).__name__}: "
                     f"{error}\nOriginal traceback in the worker:\n{traceback.format_exc()}")


def _worker_loop(fetch, dataset, tasks, results, worker_id, num_workers, seed, init_fn):
    global _worker_info
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    _random.manual_seed(seed)
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception as error:  # report, then serve nothing
        results.put((None, _Failure(worker_id, error)))
        return
    while True:
        task = tasks.get()
        if task is None:
            return
        number, indices = task
        try:
            results.put((number, fetch(indices)))
        except Exception as error:
            results.put((number, _Failure(worker_id, error)))


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class WorkerPool:
    """``num_workers`` processes serving batches of one loader."""

    def __init__(self, fetch, dataset, num_workers, base_seed, init_fn, timeout):
        ctx = _context()
        self.timeout = timeout or None
        self.epoch = 0
        self.results = ctx.Queue()
        self.tasks = [ctx.Queue() for _ in range(num_workers)]
        self.processes = [ctx.Process(target=_worker_loop, daemon=True,
                                      args=(fetch, dataset, self.tasks[i], self.results, i,
                                            num_workers, base_seed + i, init_fn))
                          for i in range(num_workers)]
        for process in self.processes:
            process.start()

    def run(self, batches, prefetch_factor):
        """Yield the batches for the index lists ``batches``, in order. Batches are
        numbered ``(epoch, i)`` so that leftovers of an epoch left early are dropped."""
        self.epoch += 1
        batches = iter(batches)
        in_flight, ready, sent, wanted = 0, {}, 0, 0
        limit = prefetch_factor * len(self.processes)
        while True:
            while in_flight < limit:
                indices = next(batches, None)
                if indices is None:
                    break
                self.tasks[sent % len(self.tasks)].put(((self.epoch, sent), indices))
                sent, in_flight = sent + 1, in_flight + 1
            if in_flight == 0:
                return
            while (self.epoch, wanted) not in ready:
                number, batch = self._get()
                if number is None or number[0] == self.epoch:
                    ready[number] = batch
            batch = ready.pop((self.epoch, wanted))
            wanted, in_flight = wanted + 1, in_flight - 1
            yield batch

    def _get(self):
        try:
            number, batch = self.results.get(timeout=self.timeout)
        except queue.Empty:
            self.close()
            raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds waiting "
                               "for a batch from its workers") from None
        if isinstance(batch, _Failure):
            self.close()
            raise RuntimeError(batch.text)
        return number, batch

    def close(self):
        for tasks, process in zip(self.tasks, self.processes):
            if process.is_alive():
                tasks.put(None)
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        self.processes = []
