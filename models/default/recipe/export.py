#!/usr/bin/python3
"""Exports a trained default U-Net (train.py) to ONNX for medseg: input "image" (N, C, [D,] H, W) float32 with
dynamic batch and spatial sizes (multiples of 16), output "logits" (N, 9, [D,] H, W). Opset 17.

Usage: /usr/bin/python3 models/default/recipe/export.py --model 3d --weights scratch/train-3d/final.pt
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import UNet, HERE  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', choices=['3d', '2d'], required=True)
    ap.add_argument('--weights', required=True)
    ap.add_argument('--out', help='default: the config\'s onnx path')
    args = ap.parse_args()
    config = json.load(open(os.path.join(HERE, 'config.json')))
    cfg = config['models'][args.model]
    in_ch = 1 if cfg['dims'] == 3 else 2 * cfg.get('neighbourSlices', 0) + 1
    net = UNet(cfg['dims'], in_ch, config['classes'], cfg['features'])
    net.load_state_dict(torch.load(args.weights))
    net.eval()
    spatial = ['D', 'H', 'W'] if cfg['dims'] == 3 else ['H', 'W']
    example = torch.zeros(1, in_ch, *[32] * len(spatial))
    out = args.out or os.path.join(HERE, '..', '..', '..', cfg['onnx'])
    axes = {0: 'N', **{2 + n: a for n, a in enumerate(spatial)}}
    torch.onnx.export(net, example, out, input_names=['image'], output_names=['logits'], opset_version=17,
                      dynamic_axes={'image': axes, 'logits': axes}, do_constant_folding=True)
    print(f'{out}: {os.path.getsize(out) / 1e6:.2f} MB')


if __name__ == '__main__':
    sys.exit(main())
