"""A character-level LSTM: it reads text one character at a time and learns to
predict the next one, then writes new text by sampling its own predictions.

The text is two of Shakespeare's sonnets (18 and 116, public domain), shipped in
``examples/data/sonnets.txt``. Each character is an integer id; ``nn.Embedding`` turns
ids into vectors, ``nn.LSTM`` carries a hidden state along the sequence, and a
``nn.Linear`` head scores every possible next character. The loss is the cross-entropy
of those scores against the true next characters of random 64-character windows.
Backpropagation through time runs inside the LSTM op (see docs/internals.md).

To sample, the trained model is fed its own output: start from a prompt, draw the
next character from softmax(scores / temperature), feed it back with the LSTM state.

    python examples/char_rnn.py [--steps N] [--quick] [--out DIR]
"""
import argparse
from pathlib import Path

import numpy as np

import gradlite
import gradlite.nn.functional as F
from gradlite import nn, optim

TEXT = Path(__file__).resolve().parent / "data" / "sonnets.txt"


class CharLSTM(nn.Module):
    """ids (N, T) -> next-character scores (N, T, vocab), and the LSTM state."""

    def __init__(self, vocab, embedding=32, hidden=128, layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab, embedding)
        self.lstm = nn.LSTM(embedding, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids, state=None):
        out, state = self.lstm(self.embed(ids), state)
        return self.head(out), state


def batches(ids, length, batch_size, rng):
    """Random windows: inputs ids[s:s+length], targets shifted by one character."""
    starts = rng.integers(0, len(ids) - length - 1, batch_size)
    windows = np.stack([ids[s:s + length + 1] for s in starts])
    return gradlite.tensor(windows[:, :-1]), gradlite.tensor(windows[:, 1:])


@gradlite.no_grad()
def sample(model, prompt, chars, length, temperature, rng):
    """Continue ``prompt`` by ``length`` characters drawn from the model."""
    index = {c: i for i, c in enumerate(chars)}
    model.eval()
    scores, state = model(gradlite.tensor([[index[c] for c in prompt]]))
    text = prompt
    for _ in range(length):
        logits = scores.data[0, -1] / temperature
        p = np.exp(logits - logits.max())
        next_id = int(rng.choice(len(chars), p=p / p.sum()))
        text += chars[next_id]
        scores, state = model(gradlite.tensor([[next_id]]), state)
    model.train()
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train a character-level LSTM on two sonnets.")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="a few steps of a small model (CI)")
    parser.add_argument("--length", type=int, default=64, help="characters per training window")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--out", default="examples_output", help="folder for char_rnn.txt")
    args = parser.parse_args(argv)
    steps, hidden = (25, 64) if args.quick else (args.steps, 128)
    length = 32 if args.quick else args.length
    gradlite.manual_seed(0)
    rng = np.random.default_rng(0)

    text = TEXT.read_text()
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text])
    print(f"{len(text)} characters of text, {len(chars)} distinct")
    model = CharLSTM(len(chars), hidden=hidden)
    print(model)
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters")
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    losses = []
    for step in range(1, steps + 1):
        inputs, targets = batches(ids, length, args.batch_size, rng)
        scores, _ = model(inputs)
        loss = F.cross_entropy(scores.reshape(-1, len(chars)), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % max(1, steps // 6) == 0 or step == steps:
            print(f"step {step:4d}  loss {np.mean(losses[-20:]):.3f} nats/char")
    final = float(np.mean(losses[-20:]))
    print(f"final loss {final:.3f} nats/char ({final / np.log(2):.2f} bits/char; "
          f"uniform guessing: {np.log(len(chars)):.2f} nats)")
    generated = sample(model, "Shall I", chars, 160, args.temperature, rng)
    print("sample:\n" + generated)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "char_rnn.txt").write_text(generated + "\n")
    return {"loss": final, "first_loss": losses[0], "sample": generated}


if __name__ == "__main__":
    main()
