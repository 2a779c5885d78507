"""The lecture's Keras model, line for line in gradlite.

The Keras version reads::

    model = Sequential()
    model.add(Dense(12, input_dim=8, activation='relu'))
    model.add(Dense(8, activation='relu'))
    model.add(Dense(1, activation='sigmoid'))
    model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
    model.fit(X, y, epochs=150, batch_size=10)

In gradlite (and PyTorch) a dense layer is ``nn.Linear`` followed by its activation,
the loss and the optimizer are objects, and ``fit`` takes a DataLoader.

The data: 768 patients with 8 measurements, like the Pima Indians diabetes table
the lecture uses, but generated here so the example needs no download. The rule
(documented so you can compare what the network learns with the truth):

    pregnancies ~ Poisson(3.8)          glucose ~ N(121, 30)     blood pressure ~ N(69, 12)
    skin fold   ~ N(29, 10)             insulin ~ e^N(4.6, 0.6)  BMI ~ N(32, 7)
    pedigree    ~ Gamma(2, 0.24)        age ~ 21 + Gamma(2, 6)
    P(diabetes) = sigmoid(-9.8 + 0.035 glucose + 0.09 BMI + 0.03 age + 0.9 pedigree
                          + 0.1 pregnancies)

so blood pressure, skin fold and insulin carry no signal, and because the label is a
coin flip with that probability even the true rule is right only about 3 times in 4.
Features are standardised (zero mean, unit variance) before training: Keras's
example skips this, but it makes Adam's job much easier. 20% of the rows are held out.

    python examples/keras_style.py [--full] [--epochs N] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
from gradlite import nn, optim
from gradlite.data import DataLoader, TensorDataset
from gradlite.metrics import plot_history
from gradlite.train import fit, predict

FEATURES = ["pregnancies", "glucose", "blood pressure", "skin fold", "insulin", "BMI",
            "pedigree", "age"]


def make_diabetes_like(n=768, seed=0):
    """(X float32 (n, 8), y float32 (n,), the true probabilities) from the rule above."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([
        np.clip(rng.poisson(3.8, n), 0, 17),
        np.clip(rng.normal(121, 30, n), 44, 199),
        np.clip(rng.normal(69, 12, n), 24, 122),
        np.clip(rng.normal(29, 10, n), 7, 99),
        np.exp(rng.normal(4.6, 0.6, n)),
        np.clip(rng.normal(32, 7, n), 18, 67),
        rng.gamma(2.0, 0.24, n),
        np.minimum(21 + rng.gamma(2.0, 6.0, n), 81),
    ])
    logit = (-9.8 + 0.035 * X[:, 1] + 0.09 * X[:, 5] + 0.03 * X[:, 7] + 0.9 * X[:, 6]
             + 0.1 * X[:, 0])
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < p).astype(np.float32)
    return X.astype(np.float32), y, p


def main(argv=None):
    parser = argparse.ArgumentParser(description="Keras's first example, in gradlite.")
    parser.add_argument("--full", action="store_true", help="150 epochs, as in the lecture")
    parser.add_argument("--epochs", type=int, help="default 20 (150 with --full)")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--out", default="examples_output", help="folder for keras_style.png")
    args = parser.parse_args(argv)
    epochs = args.epochs or (150 if args.full else 20)
    gradlite.manual_seed(0)

    X, y, p_true = make_diabetes_like()
    n_train = int(0.8 * len(X))
    mean, std = X[:n_train].mean(axis=0), X[:n_train].std(axis=0)   # statistics of the training rows only
    X = (X - mean) / std
    print(f"{len(X)} rows, 8 features, {y.mean():.0%} positive; "
          f"{n_train} for training, {len(X) - n_train} held out")

    model = nn.Sequential(
        nn.Linear(8, 12), nn.ReLU(),        # Dense(12, input_dim=8, activation='relu')
        nn.Linear(12, 8), nn.ReLU(),        # Dense(8, activation='relu')
        nn.Linear(8, 1), nn.Sigmoid(),      # Dense(1, activation='sigmoid')
    )
    loss_fn = nn.BCELoss()                  # loss='binary_crossentropy'
    optimizer = optim.Adam(model.parameters())   # optimizer='adam' (lr 0.001, as Keras)
    train = TensorDataset(X[:n_train], y[:n_train, None])
    history = fit(model, DataLoader(train, batch_size=args.batch_size, shuffle=True),
                  loss_fn, optimizer, epochs, metrics=(), progress=False)
    print(f"trained {epochs} epochs: loss {history['loss'][0]:.4f} -> {history['loss'][-1]:.4f}")

    def accuracy(rows):
        probabilities = predict(model, X[rows], output="logits")[:, 0]   # the sigmoid outputs
        return float(np.mean((probabilities > 0.5) == (y[rows] == 1)))

    train_rows, test_rows = slice(0, n_train), slice(n_train, None)
    print(f"training accuracy: {accuracy(train_rows):.4f}")
    print(f"held-out accuracy: {accuracy(test_rows):.4f}")
    rule = float(np.mean((p_true[test_rows] > 0.5) == (y[test_rows] == 1)))
    print(f"(the true rule itself scores {rule:.4f} on the held-out rows)")

    try:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        print(f"picture: {plot_history(history, out / 'keras_style.png')}")
    except ImportError:
        print("(matplotlib is not installed: no picture)")
    return {"train_accuracy": accuracy(train_rows), "test_accuracy": accuracy(test_rows)}


if __name__ == "__main__":
    main()
