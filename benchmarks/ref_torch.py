"""The 2019 CGAN train step in PyTorch (eager), written for the benchmark.

Same layers, widths, batch, losses and optimizer as ``sigjax.train`` (see
ref_keras.py). 'same' padding is TF's: stride-2 5x5 convs pad (1, 2) by an
explicit F.pad; transposed convs use padding=2, output_padding=s-1, which
gives the same output size and FLOPs (the phase alignment differs from TF's
by one pixel, irrelevant for timing). channels_last memory format.

On a CUDA machine the step runs on the GPU (``device='auto'``); the batch is
copied there once and cached, as sigjax's benchmark keeps its batch on the
device. cuDNN autotuning is on; TF32 is left at PyTorch's defaults (on for
convolutions, off for matmuls).
"""

import torch
from torch import nn
import torch.nn.functional as F


def _same_pad(n, k, s):
  out = -(-n // s)
  total = max((out - 1) * s + k - n, 0)
  return total // 2, total - total // 2


class Generator(nn.Module):

  def __init__(self, m, num_classes, image_size):
    super().__init__()
    scale = 1
    for s in m.gen_strides:
      scale *= s
    self.base = image_size // scale
    self.c0 = m.gen_channels[0]
    self.num_classes = num_classes
    self.fc = nn.Linear(m.latent_dim + num_classes, self.base ** 2 * self.c0)
    blocks, cin = [], self.c0
    for c, s in zip(m.gen_channels, m.gen_strides):
      blocks += [nn.BatchNorm2d(cin, eps=m.bn_epsilon, momentum=1 - m.bn_momentum),
                 nn.ReLU(),
                 nn.ConvTranspose2d(cin, c, m.kernel_size, s,
                                    padding=m.kernel_size // 2,
                                    output_padding=s - 1)]
      cin = c
    self.blocks = nn.Sequential(*blocks)

  def forward(self, z, y):
    x = self.fc(torch.cat([z, F.one_hot(y, self.num_classes).float()], 1))
    x = x.view(-1, self.base, self.base, self.c0).permute(0, 3, 1, 2)
    return torch.sigmoid(self.blocks(x.contiguous(memory_format=torch.channels_last)))


class Discriminator(nn.Module):

  def __init__(self, m, num_classes, image_size):
    super().__init__()
    self.size, self.num_classes, self.k = image_size, num_classes, m.kernel_size
    self.slope = m.leaky_slope
    self.label_fc = nn.Linear(num_classes, image_size * image_size)
    convs, cin, n, self.pads = [], 2, image_size, []
    for c, s in zip(m.disc_channels, m.disc_strides):
      convs.append(nn.Conv2d(cin, c, m.kernel_size, s))
      self.pads.append(_same_pad(n, m.kernel_size, s))
      n, cin = -(-n // s), c
    self.convs = nn.ModuleList(convs)
    self.out = nn.Linear(n * n * cin, 1)

  def forward(self, images, y):
    lm = self.label_fc(F.one_hot(y, self.num_classes).float())
    x = torch.cat([images, lm.view(-1, 1, self.size, self.size)], 1)
    x = x.contiguous(memory_format=torch.channels_last)
    for conv, (a, b) in zip(self.convs, self.pads):
      x = F.leaky_relu(conv(F.pad(x, (a, b, a, b))), self.slope)
    return self.out(x.flatten(1))[:, 0]


def make_step(config, num_classes, batch, device="auto"):
  m, t = config.model, config.train
  size = config.data.image_size
  if device == "auto":
    device = "cuda" if torch.cuda.is_available() else "cpu"
  dev = torch.device(device)
  torch.backends.cudnn.benchmark = True
  torch.manual_seed(0)
  gen = Generator(m, num_classes, size).to(dev, memory_format=torch.channels_last)
  disc = Discriminator(m, num_classes, size).to(dev, memory_format=torch.channels_last)
  opt_g = torch.optim.Adam(gen.parameters(), t.lr_g, (t.b1_g, t.b2_g), eps=1e-7)
  opt_d = torch.optim.Adam(disc.parameters(), t.lr_d, (t.b1_d, t.b2_d), eps=1e-7)
  bce = nn.BCEWithLogitsLoss()
  gen.train()
  disc.train()

  cache = {}

  def run(images, labels):
    # NHWC numpy in, NCHW channels_last tensors inside (copied to the device
    # once per distinct batch).
    key = (id(images), id(labels))
    if key not in cache:
      cache.clear()
      cache[key] = (torch.from_numpy(images).permute(0, 3, 1, 2).to(dev),
                    torch.from_numpy(labels).long().to(dev))
    x, y = cache[key]
    z = torch.rand(batch, m.latent_dim, device=dev) * 2 - 1
    with torch.no_grad():
      fake = gen(z, y)
    lr_, lf_ = disc(x, y), disc(fake, y)
    d_loss = 0.5 * (bce(lr_, torch.ones_like(lr_)) + bce(lf_, torch.zeros_like(lf_)))
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    z_g = torch.rand(batch, m.latent_dim, device=dev) * 2 - 1
    y_g = torch.randint(0, num_classes, (batch,), device=dev)
    disc.requires_grad_(False)  # the G update needs no D parameter grads
    logits = disc(gen(z_g, y_g), y_g)
    g_loss = bce(logits, torch.ones_like(logits))
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    disc.requires_grad_(True)
    return float(d_loss), float(g_loss)
  return run
