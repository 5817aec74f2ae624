#!/usr/bin/python3
"""Trains medseg's default U-Nets (3-D sliding-window and 2-D slice-wise) on prepared phantom data.

Data: models/default/recipe/prepare-data.ts writes each phantom as medseg's inference pipeline sees it (card grid,
CT normalisation, body crop) with the analytic anatomy as targets. This script only samples patches from it, so the
network is trained on exactly the input distribution the engine feeds it.

Recipe (nnU-Net-like, scaled down for 2 CPU cores): U-Net with two 3x3(x3) conv + instance norm + leaky ReLU per
level, strided max-pool down, transposed-conv up, 1x1 head; loss = cross-entropy + soft Dice over the foreground
classes (batch Dice); AdamW with linear warm-up and cosine decay; patches centred on a lesion voxel, a foreground
voxel or anywhere; intensity augmentation (noise, HU shift, contrast), optional in-plane rotation/scaling for 2-D;
no flips: left and right are anatomy.
A model config may set "precision": {"bf16From": n}: from iteration n on, the forward pass runs under CPU bfloat16
autocast (weights, optimiser state and loss stay float32); on CPUs with AVX-512 BF16 this is about 1.4x faster per
iteration, which is what let the 3-D run continue past its first 6000 float32 iterations on 2 cores.
A 2-D model config may set "spatialAugmentation": {"from": n, "probability", "rotationDeg", "scale": [lo, hi]}:
from iteration n on, batches are randomly rotated in-plane and scaled (see spatial_augment).
A model config may set "phaseWeights": {"from": n, "weights": {"non-contrast": w}}: from iteration n on, the
foreground and random patches come from cases drawn with these weights per contrast phase (the hardest phase,
non-contrast, where organs differ by 10-20 HU, is drawn more often); lesion-centred patches are unchanged.
A model config may set "extraData": {"from": n, "seeds": key}: from iteration n on, the cases of config.data[key].seeds
join the training set (e.g. extra non-contrast phantoms, prepared with prepare-data.ts --phase non-contrast).
A model config may set "diceWeight": {"from": n, "weight": w}: from iteration n on, the loss is CE + w * (1 - soft
Dice). A foreground-only Dice term rewards labelling uncertain boundary voxels as foreground (most for thin
structures such as the aorta); a smaller weight late in training moves the decision back towards calibrated
cross-entropy.

Usage: /usr/bin/python3 models/default/recipe/train.py --model 3d --data scratch/train-data --work scratch/train-3d
       (then export.py). Deterministic for a seed on one machine (torch CPU kernels with fixed threads).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
LESION = 8


def parse_seeds(text):
    out = []
    for part in text.split(','):
        a, _, b = part.strip().partition('-')
        out.extend(range(int(a), int(b or a) + 1))
    return out


class UNet(nn.Module):
    """Plain U-Net; `dims` 2 or 3. Input (N, C, [D,] H, W) → logits (N, classes, [D,] H, W)."""

    def __init__(self, dims, in_channels, classes, features):
        super().__init__()
        Conv = nn.Conv3d if dims == 3 else nn.Conv2d
        Norm = nn.InstanceNorm3d if dims == 3 else nn.InstanceNorm2d
        Up = nn.ConvTranspose3d if dims == 3 else nn.ConvTranspose2d
        self.pool = F.max_pool3d if dims == 3 else F.max_pool2d

        def block(i, o):
            return nn.Sequential(
                Conv(i, o, 3, padding=1, bias=False), Norm(o, affine=True), nn.LeakyReLU(0.01, inplace=True),
                Conv(o, o, 3, padding=1, bias=False), Norm(o, affine=True), nn.LeakyReLU(0.01, inplace=True))

        self.down = nn.ModuleList()
        c = in_channels
        for f in features:
            self.down.append(block(c, f))
            c = f
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for lo, hi in zip(reversed(features[:-1]), reversed(features[1:])):
            self.up.append(Up(hi, lo, 2, stride=2))
            self.dec.append(block(2 * lo, lo))
        self.head = Conv(features[0], classes, 1)

    def forward(self, x):
        skips = []
        for n, block in enumerate(self.down):
            if n > 0:
                x = self.pool(x, 2)
            x = block(x)
            skips.append(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips[:-1])):
            x = dec(torch.cat([up(x), skip], 1))
        return self.head(x)


class Cases:
    """All prepared cases in memory: image float32 (D, H, W), labels uint8, and voxel lists for sampling."""

    def __init__(self, folder, seeds):
        self.items = []
        self.by_class = []
        self.phases = []
        self.lesion_cases = []
        self.add(folder, seeds)

    def add(self, folder, seeds):
        for s in seeds:
            path = os.path.join(folder, f'case-{s}.json')
            if not os.path.exists(path):
                raise SystemExit(f'{path} is missing: prepare it with prepare-data.ts (see the recipe README)')
            meta = json.load(open(path))
            w, h, d = meta['dims']
            img = np.fromfile(os.path.join(folder, f'case-{s}.img.f32'), np.float32).reshape(d, h, w)
            lab = np.fromfile(os.path.join(folder, f'case-{s}.lab.u8'), np.uint8).reshape(d, h, w)
            fg = np.flatnonzero(lab > 0)
            les = np.flatnonzero(lab == LESION)
            self.items.append((img, lab, fg, les))
            self.by_class.append({c: np.flatnonzero(lab == c) for c in np.unique(lab) if c > 0})
            self.phases.append(meta.get('phase'))
        self.lesion_cases = [n for n, it in enumerate(self.items) if it[3].size > 0]

    def phase_probabilities(self, weights):
        """Probability of drawing each case for a weight per contrast phase (phases not named weigh 1)."""
        w = np.array([weights.get(p, 1.0) for p in self.phases], np.float64)
        return w / w.sum()


def sample_patch(rng, cases, patch, cfg, aug, norm, neighbours, case_p=None):
    """One (image, label) patch. 3-D: patch (D, H, W); 2-D: patch (H, W) with 2·neighbours+1 slice channels.

    case_p: probability of each case for the non-lesion draws (None: uniform)."""
    u = rng.random()
    if u < cfg['lesionFraction'] and cases.lesion_cases:
        n = cases.lesion_cases[rng.integers(len(cases.lesion_cases))]
        img, lab, _, les = cases.items[n]
        centre = np.unravel_index(les[rng.integers(les.size)], lab.shape)
    else:
        n = rng.integers(len(cases.items)) if case_p is None else rng.choice(len(cases.items), p=case_p)
        img, lab, fg, _ = cases.items[n]
        if u < cfg['lesionFraction'] + cfg['foregroundFraction'] and fg.size:
            if cfg.get('sampling', 'voxel') == 'class':
                # nnU-Net's foreground oversampling: a class present in the case first, then one of its voxels,
                # so that small organs are centred as often as the liver.
                voxels = list(cases.by_class[n].values())
                pick = voxels[rng.integers(len(voxels))]
                centre = np.unravel_index(pick[rng.integers(pick.size)], lab.shape)
            else:
                centre = np.unravel_index(fg[rng.integers(fg.size)], lab.shape)
        else:
            centre = tuple(rng.integers(s) for s in lab.shape)
    shape = lab.shape
    if len(patch) == 3:
        size = patch
        axes = range(3)
    else:
        size = (1, *patch)
        axes = range(3)
    # Jitter the centre so that the sampled voxel is not always in the middle of the patch.
    lo = [int(centre[a]) - size[a] // 2 + int(rng.integers(-size[a] // 4, size[a] // 4 + 1)) if size[a] > 1 else int(centre[a]) for a in axes]
    x = np.zeros(size, np.float32)  # 0 = air after normalisation, as the engine pads
    y = np.zeros(size, np.int64)
    src = tuple(slice(max(0, l), min(shape[a], l + size[a])) for a, l in enumerate(lo))
    dst = tuple(slice(s.start - l, s.stop - l) for s, l in zip(src, lo))
    y[dst] = lab[src]
    if len(patch) == 3:
        x[dst] = img[src]
        x = x[None]
    else:
        k = lo[0]
        chans = []
        for dk in range(-neighbours, neighbours + 1):
            kk = min(max(k + dk, 0), shape[0] - 1)  # edge slices replicated, as the engine does
            c = np.zeros(size[1:], np.float32)
            c[dst[1:]] = img[kk][src[1:]]
            chans.append(c)
        x = np.stack(chans)
        y = y[0]
    # Intensity augmentation in HU terms (normalised = (HU + 1000) / 250).
    scale = rng.uniform(*aug['contrastScale'])
    shift = rng.uniform(*aug['shiftHu'])
    sd = rng.uniform(*aug['noiseSdHu'])
    hu = x * norm['std'] + norm['mean']
    hu = hu * scale + shift + rng.normal(0, sd, size=hu.shape).astype(np.float32)
    hu = np.clip(hu, *norm['clip'])
    x = ((hu - norm['mean']) / norm['std']).astype(np.float32)
    return x, y


def spatial_augment(rng, x, y, spec):
    """Random in-plane rotation and isotropic scaling of a 2-D batch (x: B,C,H,W; y: B,H,W), as nnU-Net does.

    Each sample is transformed with probability spec['probability']: angle uniform in ±rotationDeg, scale uniform in
    spec['scale'] (> 1 enlarges the anatomy, as a larger patient would). The image is resampled bilinearly, the labels
    by nearest neighbour; what comes from outside the patch is air (0 after normalisation), as the engine pads.
    No mirroring: left and right are anatomy.
    """
    theta = np.zeros((x.shape[0], 2, 3), np.float32)
    for b in range(x.shape[0]):
        angle, scale = 0.0, 1.0
        if rng.random() < spec['probability']:
            angle = math.radians(rng.uniform(-spec['rotationDeg'], spec['rotationDeg']))
            scale = rng.uniform(*spec['scale'])
        # affine_grid maps output coordinates to input ones: the inverse of the wanted transform.
        c, s = math.cos(angle) / scale, math.sin(angle) / scale
        theta[b] = [[c, -s, 0.0], [s, c, 0.0]]
    grid = F.affine_grid(torch.from_numpy(theta), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
    y = F.grid_sample(y[:, None].float(), grid, mode='nearest', padding_mode='zeros', align_corners=False)[:, 0].long()
    return x, y


def loss_fn(logits, target, classes, dice_weight=1.0):
    ce = F.cross_entropy(logits, target)
    p = torch.softmax(logits, 1)
    onehot = F.one_hot(target, classes).movedim(-1, 1).float()
    dims = [0] + list(range(2, logits.dim()))
    inter = (p * onehot).sum(dims)
    denom = p.sum(dims) + onehot.sum(dims)
    dice = (2 * inter + 1e-5) / (denom + 1e-5)
    present = onehot.sum(dims) > 0
    fg_dice = dice[1:][present[1:]]
    soft_dice = fg_dice.mean() if fg_dice.numel() else torch.zeros(())
    return ce + dice_weight * (1 - soft_dice), ce.item(), soft_dice.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', choices=['3d', '2d'], required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--iterations', type=int)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seeds', help='override the config\'s training seeds (smoke tests)')
    args = ap.parse_args()
    config = json.load(open(os.path.join(HERE, 'config.json')))
    cfg = config['models'][args.model]
    iterations = args.iterations or cfg['iterations']
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(cfg['seed'])
    rng = np.random.default_rng(cfg['seed'])
    seeds = parse_seeds(args.seeds or config['data']['trainSeeds'])
    t0 = time.time()
    cases = Cases(args.data, seeds)
    print(f'{len(cases.items)} cases loaded in {time.time() - t0:.0f} s ({len(cases.lesion_cases)} with lesions)', flush=True)
    neighbours = cfg.get('neighbourSlices', 0)
    in_ch = 1 if cfg['dims'] == 3 else 2 * neighbours + 1
    net = UNet(cfg['dims'], in_ch, config['classes'], cfg['features'])
    print(f'parameters: {sum(p.numel() for p in net.parameters())}', flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg['lr'], weight_decay=cfg['weightDecay'])
    warmup = max(1, iterations // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda it: min(1.0, (it + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(it, iterations) / iterations)))
    ckpt = os.path.join(args.work, 'checkpoint.pt')
    start = 0
    if os.path.exists(ckpt):
        state = torch.load(ckpt)
        net.load_state_dict(state['net'])
        opt.load_state_dict(state['opt'])
        sched.load_state_dict(state['sched'])
        rng = state['rng']
        start = state['iteration']
        print(f'resumed at iteration {start}', flush=True)
    log_path = os.path.join(args.work, 'train-log.jsonl')
    if os.path.exists(log_path):
        # Iterations after the last checkpoint are run again on resume: drop their log lines so each appears once.
        with open(log_path) as f:
            kept = [line for line in f if line.strip() and json.loads(line)['iteration'] <= start]
        with open(log_path, 'w') as f:
            f.writelines(kept)
    log = open(log_path, 'a')
    bf16_from = cfg.get('precision', {}).get('bf16From', math.inf)
    extra = cfg.get('extraData')
    extra_seeds = parse_seeds(config['data'][extra['seeds']]['seeds']) if extra and not args.seeds else []

    def add_extra():
        t = time.time()
        cases.add(args.data, extra_seeds)
        print(f'{len(extra_seeds)} more cases ({extra["seeds"]}) loaded in {time.time() - t:.0f} s: {len(cases.items)} in all', flush=True)

    if extra_seeds and start >= extra['from']:
        add_extra()
    phase_weights = cfg.get('phaseWeights')
    phase_p = cases.phase_probabilities(phase_weights['weights']) if phase_weights else None
    dice_w = cfg.get('diceWeight')
    spatial = cfg.get('spatialAugmentation')
    if spatial and cfg['dims'] != 2:
        raise SystemExit('spatialAugmentation is implemented for 2-D models only')
    t_start = time.time()
    net.train()
    for it in range(start, iterations):
        if extra_seeds and it == extra['from'] and it > start:
            add_extra()
            phase_p = cases.phase_probabilities(phase_weights['weights']) if phase_weights else None
        case_p = phase_p if phase_weights and it >= phase_weights['from'] else None
        batch = [sample_patch(rng, cases, cfg['patch'], cfg, config['augmentation'], config['normalization'], neighbours, case_p) for _ in range(cfg['batch'])]
        x = torch.from_numpy(np.stack([b[0] for b in batch]))
        y = torch.from_numpy(np.stack([b[1] for b in batch]))
        if spatial and it >= spatial['from']:
            x, y = spatial_augment(rng, x, y, spatial)
        opt.zero_grad(set_to_none=True)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=it >= bf16_from):
            logits = net(x)
        dice_weight = dice_w['weight'] if dice_w and it >= dice_w['from'] else 1.0
        loss, ce, dice = loss_fn(logits.float(), y, config['classes'], dice_weight)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 12)
        opt.step()
        sched.step()
        log.write(json.dumps({'iteration': it + 1, 'loss': round(loss.item(), 5), 'ce': round(ce, 5), 'softDice': round(dice, 5),
                              'lr': round(sched.get_last_lr()[0], 7), 'seconds': round(time.time() - t_start, 1)}) + '\n')
        if (it + 1) % 25 == 0:
            log.flush()
            print(f'it {it + 1}/{iterations} loss {loss.item():.4f} ce {ce:.4f} dice {dice:.4f} {time.time() - t_start:.0f} s', flush=True)
        if (it + 1) % 100 == 0 or it + 1 == iterations:
            torch.save({'net': net.state_dict(), 'opt': opt.state_dict(), 'sched': sched.state_dict(), 'rng': rng, 'iteration': it + 1}, ckpt + '.tmp')
            os.replace(ckpt + '.tmp', ckpt)
    log.close()
    torch.save(net.state_dict(), os.path.join(args.work, 'final.pt'))
    print(f'done: {iterations} iterations, {time.time() - t_start:.0f} s this run', flush=True)


if __name__ == '__main__':
    sys.exit(main())
