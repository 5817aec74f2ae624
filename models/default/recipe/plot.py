#!/usr/bin/python3
"""Loss curves of the default models' training logs (train-log-*.jsonl) → models/default/loss.png."""
import json
import os
import sys

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def smooth(v, n=25):
    out, acc = [], []
    for x in v:
        acc.append(x)
        if len(acc) > n:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def main():
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for model in ['3d', '2d']:
        path = os.path.join(HERE, f'train-log-{model}.jsonl')
        if not os.path.exists(path):
            continue
        rows = [json.loads(line) for line in open(path)]
        it = [r['iteration'] for r in rows]
        axes[0].plot(it, smooth([r['loss'] for r in rows]), label=f'{model}: CE + (1 − soft Dice)')
        axes[1].plot(it, smooth([r['softDice'] for r in rows]), label=f'{model}: soft Dice (foreground)')
    for ax, title in zip(axes, ['training loss (25-iteration mean)', 'soft Dice of the training batches']):
        ax.set_xlabel('iteration')
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = os.path.join(HERE, '..', 'loss.png')
    fig.savefig(out, dpi=90)
    print(out)


if __name__ == '__main__':
    sys.exit(main())
