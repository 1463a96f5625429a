#!/usr/bin/env python3
"""torchdiffeq's ode_demo protocol (the spiral of `nde train spiral`), run on torch for
comparison with nde; not part of the build or the tests.

  spiral_torch.py TORCHDIFFEQ_CHECKOUT SEED [--f64] [--iters N] [--replay FILE] [--json FILE]

TORCHDIFFEQ_CHECKOUT: a directory holding the torchdiffeq package (a clone of
github.com/rtqichen/torchdiffeq; nothing of it is in this repository). Seeding as the
issue-12 measurements: torch.manual_seed(SEED) and np.random.seed(SEED) first; one thread.
The model is drawn in float32 as in the demo; --f64 casts those same draws and runs
everything else in float64. Prints one JSON line (final test loss, ms per iteration);
--replay writes the initial parameters and every iteration's window starts in the
format of `nde train spiral --replay`; --json writes the test loss every 20 iterations and
every iteration's batch loss."""
import argparse, json, sys, time

ap = argparse.ArgumentParser()
ap.add_argument('checkout')
ap.add_argument('seed', type=int)
ap.add_argument('--f64', action='store_true')
ap.add_argument('--iters', type=int, default=2000)
ap.add_argument('--replay')
ap.add_argument('--json')
args = ap.parse_args()
sys.path.insert(0, args.checkout)
import numpy as np
import torch
from torchdiffeq import odeint

torch.set_num_threads(1)
torch.manual_seed(args.seed)
np.random.seed(args.seed)
dtype = torch.float64 if args.f64 else torch.float32
N, WIN, BATCH = 1000, 10, 20
t = torch.linspace(0.0, 25.0, N, dtype=dtype)
A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]], dtype=dtype)
y0 = torch.tensor([[2.0, 0.0]], dtype=dtype)
with torch.no_grad():
    truth = odeint(lambda s, y: (y ** 3) @ A, y0, t, method='dopri5')   # (N, 1, 2)


class Field(torch.nn.Module):
    def __init__(self):
        super().__init__()
        # nn.Linear's own init runs first (it advances torch's generator), then normal(0, 0.1)
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 50), torch.nn.Tanh(), torch.nn.Linear(50, 2))
        for layer in (self.net[0], self.net[2]):
            torch.nn.init.normal_(layer.weight, 0.0, 0.1)
            torch.nn.init.zeros_(layer.bias)

    def forward(self, s, y):
        return self.net(y ** 3)


field = Field()
if args.f64:
    field = field.double()
params = [p.detach().double().flatten().tolist() for p in field.parameters()]   # W1 b1 W2 b2
opt = torch.optim.RMSprop(field.parameters(), lr=1e-3)
starts, train, test, loop = [], [], [], 0.0
for it in range(1, args.iters + 1):
    tic = time.perf_counter()
    opt.zero_grad()
    s = torch.from_numpy(np.random.choice(np.arange(N - WIN, dtype=np.int64), BATCH, replace=False))
    starts.append(s.tolist())
    target = torch.stack([truth[s + k] for k in range(WIN)], dim=0)
    loss = (odeint(field, truth[s], t[:WIN]) - target).abs().mean()
    loss.backward()
    opt.step()
    loop += time.perf_counter() - tic
    train.append(loss.item())
    if it % 20 == 0:
        with torch.no_grad():
            test.append((odeint(field, y0, t) - truth).abs().mean().item())
out = {'seed': args.seed, 'float64': args.f64, 'iterations': args.iters, 'test_loss': test[-1] if test else None,
       'ms_per_iter': 1e3 * loop / args.iters}
print(json.dumps(out))
if args.json:
    with open(args.json, 'w') as f:
        json.dump(dict(out, test_curve=test, train_curve=train), f)
if args.replay:
    with open(args.replay, 'w') as f:
        f.write('# torchdiffeq ode_demo, seed %d, %s\n' % (args.seed, 'float64' if args.f64 else 'float32'))
        flat = [v for p in params for v in p]
        f.write('params %d\n%s\n' % (len(flat), ' '.join(repr(v) for v in flat)))
        f.write('iterations %d\n' % len(starts))
        f.writelines(' '.join(map(str, b)) + '\n' for b in starts)
