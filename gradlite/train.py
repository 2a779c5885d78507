"""The training loop: ``fit``, ``evaluate``, ``predict`` and callbacks.

A minimal use::

    history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, epochs=5,
                  val_loader=test_loader)
    print(evaluate(model, test_loader, nn.CrossEntropyLoss()))   # {'loss': .., 'accuracy': ..}

Each epoch ``fit`` runs the usual step for every batch: ``zero_grad``, forward, loss,
``backward``, ``optimizer.step()``; then evaluates on ``val_loader``, steps the scheduler,
records the epoch in the ``History`` and calls the callbacks.

Output (``progress=True``): one summary line per epoch (losses, metrics, lr, time,
images/s); while an epoch trains, a tqdm bar with the running loss and throughput when
stdout is a terminal and tqdm is installed. ``progress=False`` prints nothing.

Ctrl-C during ``fit`` finishes the current batch, ends training (the interrupted epoch
is not recorded), runs the callbacks' ``on_train_end`` and returns the history with
``history.interrupted = True``. A second Ctrl-C raises ``KeyboardInterrupt`` at once.
"""
import math
import signal
import sys
import threading
import time

import numpy as np

from . import metrics as _metrics
from .autograd import no_grad
from .nn.functional import softmax
from .optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau
from .serialization import save
from .tensor import Tensor

#: Metrics ``fit`` and ``evaluate`` can compute by name, each ``f(logits, target)``.
METRICS = {"accuracy": _metrics.accuracy}

try:
    from tqdm import tqdm
except ImportError:          # progress then falls back to one line per epoch
    tqdm = None


class History(dict):
    """Per-epoch records: ``history['loss'][e]`` is the mean training loss of epoch e.

    Keys: ``loss``, one per metric (``accuracy``), ``val_loss`` and ``val_<metric>``
    with a validation loader, ``lr`` (first param group, at the epoch's end) and
    ``time`` (seconds). A plain dict of lists, so ``metrics.plot_history`` takes it.
    ``interrupted`` is True when Ctrl-C ended training early.
    """

    def __init__(self):
        super().__init__()
        self.interrupted = False

    @property
    def epochs(self):
        """The number of completed epochs."""
        return len(self.get("loss", ()))

    def append(self, logs):
        """Record one epoch's ``logs`` (a dict name -> number)."""
        for key, value in logs.items():
            self.setdefault(key, []).append(value)


# ----------------------------------------------------------------- callbacks

class Callback:
    """Base class for hooks into ``fit``; override the methods you need.

    ``fit`` sets ``self.model`` before ``on_train_begin``. Setting ``self.stop_training
    = True`` (e.g. in ``on_epoch_end``) ends training after the current epoch.
    """

    model = None
    stop_training = False

    def on_train_begin(self):
        """Called once before the first epoch."""

    def on_epoch_end(self, epoch, logs):
        """Called after each completed epoch (``epoch`` counts from 0) with its logs."""

    def on_train_end(self, history):
        """Called once when training ends, also after early stopping or Ctrl-C."""


class _Monitor:
    """Tracks the best value of one logged quantity.

    ``mode`` 'min' or 'max'; 'auto' means 'max' for names containing 'acc', else 'min'.
    A value improves on the best by more than ``min_delta``.
    """

    def __init__(self, owner, monitor, mode="auto", min_delta=0.0):
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"{owner}: mode must be 'min', 'max' or 'auto', got {mode!r}")
        self.owner, self.monitor, self.mode = owner, monitor, mode
        self.min_delta = abs(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def value(self, logs):
        """The monitored number in ``logs``; a clear error if it is not logged."""
        if self.monitor not in logs:
            raise KeyError(f"{self.owner} monitors {self.monitor!r} but the logs hold only "
                           f"{', '.join(logs)}; pass a val_loader to fit or choose one of "
                           "those")
        return logs[self.monitor]

    def improved(self, logs):
        """Whether this epoch's value beats the best so far (then it becomes the best)."""
        value = self.value(logs)
        if self.mode == "min":
            better = value < self.best - self.min_delta
        else:
            better = value > self.best + self.min_delta
        if better:
            self.best = value
        return better


def _copy_state(model):
    """A snapshot of the model's parameters and buffers as independent numpy arrays."""
    return {key: value.numpy().copy() for key, value in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    An epoch improves if its value beats the best so far by more than ``min_delta``
    (lower for losses, higher for accuracies; ``mode`` 'min'/'max'/'auto'). With
    ``restore_best``, the model ends training with the weights of its best epoch.
    Afterwards ``best_epoch`` and ``stopped_epoch`` (None if it never stopped) count
    from 0.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best=True):
        self._monitor = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.patience = patience
        self.restore_best = restore_best
        self.best_epoch = self.stopped_epoch = None
        self._best_state = None
        self._waited = 0

    def on_epoch_end(self, epoch, logs):
        if self._monitor.improved(logs):
            self.best_epoch, self._waited = epoch, 0
            if self.restore_best:
                self._best_state = _copy_state(self.model)
            return
        self._waited += 1
        if self._waited >= self.patience:
            self.stopped_epoch = epoch
            self.stop_training = True

    def on_train_end(self, history):
        if self.restore_best and self._best_state is not None:
            self.model.load_state_dict(self._best_state)


class ModelCheckpoint(Callback):
    """Save the model's ``state_dict`` to ``path`` with ``gradlite.save`` (atomic).

    With ``save_best_only`` it saves only when ``monitor`` improves, else after every
    epoch. If training ends before anything was saved (e.g. Ctrl-C in the first epoch),
    ``on_train_end`` saves the current weights, so ``path`` always exists after ``fit``.
    """

    def __init__(self, path, monitor="val_loss", save_best_only=True, mode="auto"):
        self.path = path
        self._monitor = _Monitor("ModelCheckpoint", monitor, mode)
        self.save_best_only = save_best_only
        self.saved_epoch = None

    def _save(self):
        save(self.model.state_dict(), self.path)

    def on_epoch_end(self, epoch, logs):
        if self._monitor.improved(logs) or not self.save_best_only:
            self._save()
            self.saved_epoch = epoch

    def on_train_end(self, history):
        if self.saved_epoch is None:
            self._save()


# ----------------------------------------------------------------- Ctrl-C

class _CtrlC:
    """Within ``with _CtrlC() as ctrl_c:``, a first Ctrl-C only sets ``ctrl_c.pressed``
    (the loop checks it after each batch); a second raises ``KeyboardInterrupt``.

    Signal handlers can only be set from the main thread; elsewhere Ctrl-C keeps its
    default behaviour (``fit`` still catches the ``KeyboardInterrupt``).
    """

    def __enter__(self):
        self.pressed = False
        self._previous = None
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def _on_sigint(self, signum, frame):
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


# ----------------------------------------------------------------- the loop

class _Totals:
    """Sample-weighted sums of the loss and metrics over an epoch."""

    def __init__(self, metric_names):
        self.metric_fns = {name: _metric(name) for name in metric_names}
        self.sums = dict.fromkeys(["loss", *self.metric_fns], 0.0)
        self.count = 0

    def add(self, loss, output, target):
        n = len(target)
        self.count += n
        if loss is not None:
            self.sums["loss"] += loss * n
        for name, fn in self.metric_fns.items():
            self.sums[name] += fn(output, target) * n

    def means(self, caller, with_loss=True):
        if not self.count:
            raise ValueError(f"{caller}: the loader yielded no batch, so there is no mean loss "
                             "(is the dataset empty, or smaller than batch_size with "
                             "drop_last=True?)")
        names = self.sums if with_loss else self.metric_fns
        return {name: self.sums[name] / self.count for name in names}


def _metric(name):
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    return METRICS[name]


def _steps_per_batch(scheduler):
    """Whether ``scheduler`` is stepped after every batch rather than every epoch:
    its ``step_per_batch`` attribute if it has one, else True for ``OneCycleLR``."""
    return getattr(scheduler, "step_per_batch", isinstance(scheduler, OneCycleLR))


def _summary(logs):
    """'loss 0.1234  accuracy 0.9650  ...  lr 0.001  12.3s' for one epoch's logs."""
    parts = [f"{key} {value:.4f}" for key, value in logs.items() if key not in ("lr", "time")]
    parts.append(f"lr {logs['lr']:.3g}")
    parts.append(f"{logs['time']:.1f}s")
    return "  ".join(parts)


def _progress_bar(loader, epoch, epochs):
    """A tqdm bar counting images, or None (no tqdm, or stdout is not a terminal)."""
    if tqdm is None or not sys.stdout.isatty():
        return None
    dataset = getattr(loader, "dataset", None)
    return tqdm(total=len(dataset) if dataset is not None else None, file=sys.stdout,
                desc=f"epoch {epoch + 1}/{epochs}", unit="img", unit_scale=True,
                dynamic_ncols=True, leave=False)


def _train_epoch(model, loader, loss_fn, optimizer, batch_scheduler, totals, bar, ctrl_c):
    """One pass over ``loader``; returns False if Ctrl-C cut it short."""
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        output = model(x)
        loss = loss_fn(output, y)
        loss.backward()
        optimizer.step()
        if batch_scheduler is not None:
            batch_scheduler.step()
        totals.add(loss.item(), output, y)
        if bar is not None:
            bar.update(len(y))
            bar.set_postfix_str(f"loss {totals.sums['loss'] / totals.count:.4f}", refresh=False)
        if ctrl_c.pressed:
            return False
    return True


def _step_epoch_scheduler(scheduler, logs):
    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(logs.get("val_loss", logs["loss"]))
    else:
        scheduler.step()


def fit(model, train_loader, loss_fn, optimizer, epochs, val_loader=None, scheduler=None,
        callbacks=(), progress=True, metrics=("accuracy",)):
    """Train ``model`` for ``epochs`` passes over ``train_loader``; returns a ``History``.

    Args:
        model: a ``Module`` mapping a batch of inputs to outputs.
        train_loader: yields ``(inputs, targets)`` batches (e.g. a ``DataLoader``).
        loss_fn: ``loss_fn(outputs, targets)`` -> scalar Tensor.
        optimizer: an ``optim`` optimizer over the model's parameters.
        epochs: the number of passes.
        val_loader: evaluated after each epoch (``val_loss``, ``val_accuracy``).
        scheduler: an lr scheduler. ``OneCycleLR`` (or any scheduler whose attribute
            ``step_per_batch`` is True) is stepped after every batch;
            ``ReduceLROnPlateau`` after every epoch with ``val_loss`` (``loss`` without
            a val_loader); any other after every epoch.
        callbacks: ``Callback`` objects, e.g. ``EarlyStopping``, ``ModelCheckpoint``.
        progress: show a progress bar (terminal) or one line per epoch; False: silent.
        metrics: names from ``METRICS`` computed on every batch's outputs.
    """
    history = History()
    for callback in callbacks:
        callback.model = model
        callback.on_train_begin()
    batch_scheduler = scheduler if scheduler is not None and _steps_per_batch(scheduler) else None
    with _CtrlC() as ctrl_c:
        try:
            for epoch in range(epochs):
                if not _run_epoch(model, train_loader, loss_fn, optimizer, epoch, epochs,
                                  val_loader, scheduler, batch_scheduler, callbacks, progress,
                                  metrics, history, ctrl_c) or ctrl_c.pressed:
                    history.interrupted = True
                    break
                if any(callback.stop_training for callback in callbacks):
                    break
        except KeyboardInterrupt:
            history.interrupted = True
    for callback in callbacks:
        callback.on_train_end(history)
    return history


def _run_epoch(model, train_loader, loss_fn, optimizer, epoch, epochs, val_loader, scheduler,
               batch_scheduler, callbacks, progress, metrics, history, ctrl_c):
    """Train, validate, schedule, record and call back for one epoch; False on Ctrl-C."""
    start = time.perf_counter()
    totals = _Totals(metrics)
    bar = _progress_bar(train_loader, epoch, epochs) if progress else None
    try:
        completed = _train_epoch(model, train_loader, loss_fn, optimizer, batch_scheduler,
                                 totals, bar, ctrl_c)
    finally:
        if bar is not None:
            bar.close()
    if not completed:
        return False
    logs = totals.means("fit")
    images_per_second = totals.count / (time.perf_counter() - start)
    if val_loader is not None:
        val = evaluate(model, val_loader, loss_fn, metrics)
        logs.update({"val_" + key: value for key, value in val.items()})
    logs["lr"] = optimizer.param_groups[0]["lr"]
    if scheduler is not None and batch_scheduler is None:
        _step_epoch_scheduler(scheduler, logs)
    logs["time"] = time.perf_counter() - start
    if progress:
        print(f"epoch {epoch + 1}/{epochs}  {_summary(logs)}  ({images_per_second:.0f} img/s)",
              flush=True)
    history.append(logs)
    for callback in callbacks:
        callback.on_epoch_end(epoch, logs)
    return True


# ----------------------------------------------------------------- inference

def _in_eval_mode(model, function, *args):
    """Call ``function(*args)`` with ``model.eval()`` under ``no_grad``, then put the
    model back into the mode it was in."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return function(*args)
    finally:
        model.train(was_training)


def evaluate(model, loader, loss_fn=None, metrics=("accuracy",)):
    """Mean loss (if ``loss_fn`` is given) and ``metrics`` over ``loader``, as a dict,
    e.g. ``{'loss': 0.05, 'accuracy': 0.985}``. Runs in eval mode without gradients."""
    def run():
        totals = _Totals(metrics)
        for x, y in loader:
            output = model(x)
            totals.add(None if loss_fn is None else loss_fn(output, y).item(), output, y)
        return totals.means("evaluate", with_loss=loss_fn is not None)
    return _in_eval_mode(model, run)


def _input_batches(data, batch_size):
    """Input batches from a loader of ``(inputs, targets)``/inputs, or from one array."""
    if isinstance(data, (Tensor, np.ndarray)):
        array = data.numpy() if isinstance(data, Tensor) else data
        for start in range(0, len(array), batch_size):
            yield Tensor(array[start:start + batch_size])
        return
    for batch in data:
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def predict(model, data, output="classes", batch_size=256):
    """The model's predictions for ``data`` as a numpy array, in eval mode, no gradients.

    ``data``: a Tensor/array of inputs (split into ``batch_size`` batches) or a loader.
    ``output``: 'classes' (arg-max class indices), 'logits' (the raw outputs) or
    'probabilities' (softmax of the logits over the last axis).
    """
    if output not in ("classes", "logits", "probabilities"):
        raise ValueError(f"predict: output must be 'classes', 'logits' or 'probabilities', "
                         f"got {output!r}")

    def run():
        logits = [model(x) for x in _input_batches(data, batch_size)]
        if output == "probabilities":
            logits = [softmax(z, -1) for z in logits]
        return np.concatenate([z.numpy() for z in logits])

    result = _in_eval_mode(model, run)
    return result.argmax(axis=-1) if output == "classes" else result


__all__ = ["fit", "evaluate", "predict", "History", "Callback", "EarlyStopping",
           "ModelCheckpoint", "METRICS"]
