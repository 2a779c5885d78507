"""The training loop: fit, evaluate, predict, schedulers, callbacks, Ctrl-C."""
import os
import signal

import numpy as np
import pytest

import gradlite
from gradlite import nn, optim
from gradlite.data import DataLoader, TensorDataset
from gradlite.models import MODELS, lenet5
from gradlite.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau, StepLR
from gradlite.train import (Callback, EarlyStopping, History, ModelCheckpoint, evaluate, fit,
                            predict)


def blobs(n=200, seed=0):
    """Two well separated Gaussian blobs in 2-D, labels 0/1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, 2)).astype(np.float32) + 2.0 * (2 * y[:, None] - 1)
    return x, y.astype(np.int64)


@pytest.fixture
def problem():
    x, y = blobs()
    loader = DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    return model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1)


class Recorder(Callback):
    """Remembers every call it gets."""

    def __init__(self):
        self.calls = []

    def on_train_begin(self):
        self.calls.append("begin")

    def on_epoch_end(self, epoch, logs):
        self.calls.append(epoch)

    def on_train_end(self, history):
        self.calls.append("end")


def test_fit_lowers_the_loss_and_records_every_key(problem):
    model, loader, loss_fn, optimizer = problem
    history = fit(model, loader, loss_fn, optimizer, epochs=4, val_loader=loader,
                  progress=False)
    assert isinstance(history, History) and history.epochs == 4 and not history.interrupted
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"}
    assert all(len(values) == 4 for values in history.values())
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.95


def test_fit_calls_callbacks_in_order(problem):
    recorder = Recorder()
    fit(*problem, epochs=3, callbacks=[recorder], progress=False)
    assert recorder.calls == ["begin", 0, 1, 2, "end"]
    assert recorder.model is problem[0]


def test_progress_prints_one_line_per_epoch_when_not_a_terminal(problem, capsys):
    fit(*problem, epochs=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["epoch", "1/2"], ["epoch", "2/2"]]
    fit(*problem, epochs=1, progress=False)
    assert capsys.readouterr().out == ""


def test_epoch_scheduler_steps_once_per_epoch(problem):
    model, loader, loss_fn, optimizer = problem
    history = fit(model, loader, loss_fn, optimizer, 3, progress=False,
                  scheduler=StepLR(optimizer, step_size=1, gamma=0.5))
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])   # lr used in each epoch
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_one_cycle_steps_once_per_batch(problem):
    model, loader, loss_fn, optimizer = problem
    scheduler = OneCycleLR(optimizer, max_lr=0.5, epochs=2, steps_per_epoch=len(loader))
    fit(model, loader, loss_fn, optimizer, 2, scheduler=scheduler, progress=False)
    assert scheduler.last_epoch == 2 * len(loader)


def test_plateau_scheduler_sees_val_loss(problem):
    model, loader, loss_fn, optimizer = problem
    scheduler = ReduceLROnPlateau(optimizer)
    seen = []
    scheduler.step = seen.append
    history = fit(model, loader, loss_fn, optimizer, 2, val_loader=loader,
                  scheduler=scheduler, progress=False)
    assert seen == history["val_loss"]


def test_evaluate_restores_training_mode_and_records_no_graph(problem):
    model, loader, loss_fn, _ = problem
    model.train()
    scores = evaluate(model, loader, loss_fn)
    assert set(scores) == {"loss", "accuracy"} and model.training
    model.eval()
    assert set(evaluate(model, loader)) == {"accuracy"} and not model.training


def test_predict_classes_logits_probabilities(problem):
    model, loader, loss_fn, optimizer = problem
    fit(model, loader, loss_fn, optimizer, 5, progress=False)
    x, y = blobs()
    classes = predict(model, x)
    assert classes.shape == (200,) and np.mean(classes == y) > 0.95
    np.testing.assert_array_equal(predict(model, gradlite.tensor(x), batch_size=7), classes)
    np.testing.assert_array_equal(predict(model, DataLoader(TensorDataset(x, y), 50)), classes)
    probabilities = predict(model, x, output="probabilities")
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert predict(model, x, output="logits").shape == (200, 2)
    with pytest.raises(ValueError, match="output must be"):
        predict(model, x, output="scores")


class Scripted(Callback):
    """Overwrites a logged value with a fixed sequence, to script EarlyStopping."""

    def __init__(self, values, key="val_loss"):
        self.values, self.key = values, key

    def on_epoch_end(self, epoch, logs):
        logs[self.key] = self.values[epoch]


def test_early_stopping_stops_after_patience_and_restores_best(problem):
    model, loader, loss_fn, optimizer = problem
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs):
            snapshots.append(model[0].weight.numpy().copy())

    stopper = EarlyStopping(patience=2)
    history = fit(model, loader, loss_fn, optimizer, 10, progress=False,
                  callbacks=[Scripted([3.0, 1.0, 2.0, 0.5, 0.6, 0.7, 0.1, 0, 0, 0]),
                             Snapshot(), stopper])
    assert history.epochs == 6 and stopper.best_epoch == 3 and stopper.stopped_epoch == 5
    np.testing.assert_array_equal(model[0].weight.numpy(), snapshots[3])


def test_early_stopping_modes_and_min_delta(problem):
    stopper = EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.1)
    scripted = Scripted([0.5, 0.55, 0.9, 0.95], key="val_accuracy")
    history = fit(*problem, 4, progress=False, callbacks=[scripted, stopper])
    assert history.epochs == 2 and stopper.best_epoch == 0      # 'auto' means max here
    with pytest.raises(KeyError, match="monitors 'val_loss'"):
        fit(*problem, 1, progress=False, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


def test_model_checkpoint_writes_a_loadable_state_dict(problem, tmp_path):
    model, loader, loss_fn, optimizer = problem
    path = tmp_path / "best.npz"
    checkpoint = ModelCheckpoint(path, monitor="loss")
    history = fit(model, loader, loss_fn, optimizer, 3, progress=False, callbacks=[checkpoint])
    assert checkpoint.saved_epoch == int(np.argmin(history["loss"]))
    fresh = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    fresh.load_state_dict(gradlite.load(path))
    if checkpoint.saved_epoch == 2:
        np.testing.assert_array_equal(fresh[0].weight.numpy(), model[0].weight.numpy())


class InterruptingLoader:
    """Yields the batches of ``loader``, then 'presses Ctrl-C' after ``after`` batches,
    either as a real SIGINT or by raising KeyboardInterrupt."""

    def __init__(self, loader, after, how):
        self.loader, self.after, self.how, self.served = loader, after, how, 0

    def __iter__(self):
        for batch in self.loader:
            if self.served == self.after:
                if self.how == "raise":
                    raise KeyboardInterrupt
                os.kill(os.getpid(), signal.SIGINT)
            self.served += 1
            yield batch


@pytest.mark.parametrize("how", ["signal", "raise"])
def test_ctrl_c_ends_training_cleanly(problem, tmp_path, how):
    model, loader, loss_fn, optimizer = problem
    recorder = Recorder()
    checkpoint = ModelCheckpoint(tmp_path / "model.npz")
    stream = InterruptingLoader(loader, after=len(loader) + 3, how=how)
    history = fit(model, stream, loss_fn, optimizer, 5, val_loader=loader, progress=False,
                  callbacks=[recorder, checkpoint])
    assert history.interrupted and history.epochs == 1
    assert recorder.calls == ["begin", 0, "end"]
    assert (tmp_path / "model.npz").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_signal_handler_finishes_the_batch(problem):
    model, loader, loss_fn, optimizer = problem
    stream = InterruptingLoader(loader, after=2, how="signal")
    history = fit(model, stream, loss_fn, optimizer, 1, progress=False)
    assert history.interrupted and history.epochs == 0 and stream.served == 3


@pytest.mark.parametrize("name", list(MODELS))
def test_models_map_mnist_batches_to_logits(name):
    model = MODELS[name](num_classes=7)
    assert model(gradlite.zeros(2, 1, 28, 28)).shape == (2, 7)


def test_lenet5_has_the_classic_parameter_count():
    assert sum(p.numel() for p in lenet5().parameters()) == 61706
