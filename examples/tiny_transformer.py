"""A tiny transformer encoder learns to sort digits.

Input: 8 random digits, e.g. 3 1 4 1 5 9 2 6; target: the same digits sorted,
1 1 2 3 4 5 6 9, one prediction per position. Nothing in the network sees the
sequence as a sequence except the learned position embeddings added to the digit
embeddings; each of the 2 encoder layers lets every position attend to every other
(``nn.MultiheadAttention`` inside ``nn.TransformerEncoderLayer``), so position i can
count how many digits are smaller than each candidate and pick the i-th smallest.

    python examples/tiny_transformer.py [--steps N] [--quick] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
import gradlite.nn.functional as F
from gradlite import nn, optim


class SortingTransformer(nn.Module):
    """digit ids (N, L) -> scores (N, L, 10) for the sorted digit at each position."""

    def __init__(self, length, d_model=64, heads=4, layers=2, feedforward=128):
        super().__init__()
        self.digits = nn.Embedding(10, d_model)
        self.positions = nn.Embedding(length, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, feedforward, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model))
        self.head = nn.Linear(d_model, 10)

    def forward(self, ids):
        positions = gradlite.arange(ids.shape[1])
        return self.head(self.encoder(self.digits(ids) + self.positions(positions)))


def digit_batch(rng, batch_size, length):
    digits = rng.integers(0, 10, (batch_size, length))
    return gradlite.tensor(digits), gradlite.tensor(np.sort(digits, axis=1))


@gradlite.no_grad()
def accuracy(model, inputs, targets):
    """(share of digits right, share of whole sequences right)."""
    model.eval()
    right = model(inputs).data.argmax(axis=-1) == targets.data
    model.train()
    return float(right.mean()), float(right.all(axis=1).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description="A 2-layer transformer encoder sorts digits.")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="a few steps of a small model (CI)")
    parser.add_argument("--length", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--out", default="examples_output", help="folder for tiny_transformer.txt")
    args = parser.parse_args(argv)
    steps, d_model = (40, 32) if args.quick else (args.steps, 64)
    gradlite.manual_seed(0)
    rng = np.random.default_rng(0)
    model = SortingTransformer(args.length, d_model=d_model, feedforward=2 * d_model)
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters")
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    test_inputs, test_targets = digit_batch(np.random.default_rng(1), 1000, args.length)
    losses = []
    for step in range(1, steps + 1):
        inputs, targets = digit_batch(rng, args.batch_size, args.length)
        loss = F.cross_entropy(model(inputs).reshape(-1, 10), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % max(1, steps // 6) == 0 or step == steps:
            digits, sequences = accuracy(model, test_inputs, test_targets)
            print(f"step {step:5d}  loss {np.mean(losses[-50:]):.4f}  test accuracy: digits "
                  f"{digits:.3f}, whole sequences {sequences:.3f}")
    digits, sequences = accuracy(model, test_inputs, test_targets)
    example = test_inputs[:3]
    with gradlite.no_grad():
        model.eval()
        predicted = model(example).data.argmax(axis=-1)
    lines = [f"{' '.join(map(str, x))}  ->  {' '.join(map(str, y))}"
             for x, y in zip(example.data, predicted)]
    print("examples (input -> sorted by the model):\n  " + "\n  ".join(lines))
    print(f"final: loss {np.mean(losses[-50:]):.4f}, digit accuracy {digits:.3f}, "
          f"sequence accuracy {sequences:.3f}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tiny_transformer.txt").write_text("\n".join(lines) + "\n")
    return {"loss": float(np.mean(losses[-50:])), "first_loss": losses[0],
            "digit_accuracy": digits, "sequence_accuracy": sequences}


if __name__ == "__main__":
    main()
