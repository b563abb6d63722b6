"""CGAN training: the train state, the pure step function and the loop.

``train_step(state, images, labels) -> (state, metrics)`` is one jit-compiled
update of D then G with the original project's semantics:

* D: binary cross-entropy on the real batch (target 1) and on a fake batch
  generated for the same labels (target 0), averaged; one Adam update.
* G: fresh noise and fresh uniformly random labels through the *updated* D,
  non-saturating BCE (target 1); one Adam update.
* z ~ U(-1, 1); Adam(lr, b1=0.5). BatchNorm in G runs in training mode
  (batch statistics) for both passes, and the G pass updates the moving
  statistics, as Keras does in ``train_on_batch``; the stats of the D pass's
  forward are discarded (Keras generated D's fakes with ``predict``, which
  does not update them either).

All randomness comes from ``fold_in(state.rng, state.step)``, so a step's
noise depends only on (config.seed, step): resuming from a checkpoint at step
k replays exactly what an uninterrupted run would have done.

The step is written for the global batch. Under ``jax.jit`` with the batch
sharded over the mesh's ``data`` axis and the state replicated, XLA inserts
the cross-device reductions (gradients *and* BatchNorm batch statistics), so
the result does not depend on the number of devices.

``resolve(config, num_classes)`` turns a config into a ``Gan`` once: its
validated ``Options``, G and D, and their optimizers. ``create_state``,
``make_train_step``, ``make_loop_step`` and the other builders take it as
``gan=`` (``sigjax.train_loop.run`` resolves once and hands it down), or
resolve the config themselves. ``TrainStep`` is the step in stages: the D
updates, the G update and the running averages (EMA, ADA, LeCam).

Options beyond the original (``configs/common.py``; each is compiled in only
when set, so the default step is the original's, bit for bit):

* ``train.loss`` bce | hinge | wgan_gp (+ ``gp_weight``), ``train.r1_gamma``:
  ``sigjax.losses``. Both penalties differentiate D through the same
  augmentation as its loss.
* ``model.spectral_norm``: D's power-iteration state is ``state.spectral_d``;
  the real pass of each D update advances it (one iteration), every other D
  call in that update uses the same estimate; the G step does not advance it.
* ``train.augment`` diffaugment | ada (``sigjax.augment``): reals and fakes
  are augmented (fresh parameters per call) before every D call, in the D
  update and in the G update (differentiably). ADA's p is ``state.ada['p']``
  (starts at 0): D updates accumulate mean(sign(D(augmented real))) and every
  ``ada_interval`` steps p += sign(r_t - ada_target) * ada_speed *
  ada_interval, clipped to [0, 1]; the metric ``ada_p`` is p after the step
  and ``ada_rt`` this step's mean sign.
* ``train.d_steps`` = k: the step takes k * batch_size real images (the data
  pipeline's global batch grows k-fold); D update j uses rows j, j+k, j+2k,
  ... (its own real batch, a fair sample of the shuffled stream, each device
  keeping its own rows) with fresh noise, then one G update. ``state.step``
  counts G updates; D's Adam count advances by k per step. Batch and noise
  still depend only on (seed, step), so resumption stays exact.
* ``train.instance_noise`` = s > 0: every image D sees (real and fake, in
  the D and the G update, after any augmentation) gets fresh Gaussian noise
  of std s (Sønderby et al. 2017, "instance noise"). Binary ink makes the
  real distribution a set of corners of the unit cube that G's sigmoid only
  reaches by saturating (where its gradient vanishes); with noise the two
  distributions overlap and D cannot reward saturation itself. With
  ``train.instance_noise_steps`` = k > 0 the std decays linearly from s to 0
  at step k (Sønderby et al. anneal it): noise hides detail finer than its
  std from D, so a constant std leaves G's fine speckle unpunished.
* ``train.ema_decay`` = d > 0: after the G update, ``params_g_ema`` <- d *
  params_g_ema + (1 - d) * params_g (started from the initial weights), and
  ``batch_stats_g_ema`` are the BatchNorm running statistics of the EMA
  weights themselves (a forward pass of the EMA generator in training mode on
  the G step's noise, output discarded). With ``train.ema_start`` = k > 0
  the EMA copies params_g for the first k steps and averages from then on
  (as BigGAN's ``ema_start``): a decay of 0.999 started from the initial
  weights still holds 0.999^1500 = 22% of them after 1500 steps, and one
  started at step 1000 of 1500 still 0.999^500 = 61% of step 1000's. With
  ``train.ema_warmup`` the decay ramps up as min(d, (1 + n) / (10 + n)), n the
  number of averaging steps so far (TensorFlow's ExponentialMovingAverage
  with ``num_updates``; StyleGAN's EMA ramp-up has the same purpose): the
  EMA then averages over roughly the last tenth of the steps since
  ``ema_start`` until the ramp reaches d (at n = (10 d - 1) / (1 - d): 8990
  steps for 0.999), and the starting weights' share vanishes.
  ``sampling_variables`` returns them
  for the sample grids, ``sigjax.inference`` and hence generate/evaluate.
* ``train.lecam_weight`` = w > 0: LeCam regularisation of D (Tseng et al.
  2021, "Regularizing Generative Adversarial Networks under Limited Data"):
  D's loss gains w * (E[relu(D(x) - a_fake)^2] + E[relu(a_real -
  D(G(z)))^2]), where a_real and a_fake are EMAs (decay
  ``train.lecam_decay``, from 0, no bias correction) of D's mean logit on
  the real and the fake batch, updated with this D update's logits (without
  gradient) before the penalty uses them, as the authors' code does. It
  bounds how far D's logits on the training images can drift from its
  logits on fakes, which is what an overfitting D does. The EMAs are
  ``state.lecam`` ({'real', 'fake'}); metrics ``d_lecam`` (the penalty
  before the weight) and ``lecam_real``/``lecam_fake`` (the EMAs).
* ``train.lr_decay_steps`` = n > 0: both learning rates decay linearly from
  their value at step ``train.lr_decay_start`` to 0 at step start + n and
  stay 0 after (as pix2pix/CycleGAN decay theirs over the second half of
  training): each Adam update is scaled by clip(1 - (step - start) / n, 0,
  1), step = ``state.step`` before the update. Adam's moments are updated
  as without it, and the state has no new part, so a run can resume from
  a checkpoint taken before the decay with the decay switched on. Metric
  ``lr_scale``.

Disabled options leave empty dicts in the state, so a config's state has the
same structure at save and restore.
"""

import dataclasses
from typing import Any, NamedTuple

import flax
import jax
import jax.numpy as jnp
import optax

from configs import common
from sigjax import augment as augment_lib
from sigjax import batch_order
from sigjax import losses
from sigjax import parallel
from sigjax.models import cgan


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params_g: Any
  batch_stats_g: Any
  params_d: Any
  opt_state_g: Any
  opt_state_d: Any
  rng: jax.Array  # base key of the step noise (raw uint32 key data)
  spectral_d: Any = flax.struct.field(default_factory=dict)  # SN power iteration
  params_g_ema: Any = flax.struct.field(default_factory=dict)  # EMA of params_g
  batch_stats_g_ema: Any = flax.struct.field(default_factory=dict)
  ada: Any = flax.struct.field(default_factory=dict)  # {'p', 'signs', 'count'}
  lecam: Any = flax.struct.field(default_factory=dict)  # {'real', 'fake'}


class NonFiniteLossError(FloatingPointError):
  pass


def make_optimizers(config):
  t = config.train
  opt_g = optax.adam(t.lr_g, b1=t.b1_g, b2=t.b2_g, eps=1e-7)
  opt_d = optax.adam(t.lr_d, b1=t.b1_d, b2=t.b2_d, eps=1e-7)
  return opt_g, opt_d


def root_keys(seed: int):
  """Named keys derived from ``config.seed`` (init, step noise, samples)."""
  root = jax.random.PRNGKey(seed)
  return {"init": jax.random.fold_in(root, 0),
          "step": jax.random.fold_in(root, 1),
          "samples": jax.random.fold_in(root, 2)}


def create_state(config, num_classes: int, gan=None) -> TrainState:
  """A fresh train state, deterministic in ``config.seed``; ``gan``: the
  config already ``resolve``d (else it is resolved here)."""
  gan = _resolved(config, num_classes, gan)
  gen, disc = gan.gen, gan.disc
  keys = root_keys(config.seed)
  kg, kd = jax.random.split(keys["init"])
  size = config.data.image_size
  z = jnp.zeros((1, config.model.latent_dim), jnp.float32)
  y = jnp.zeros((1,), jnp.int32)
  vg = gen.init(kg, z, y, train=False)
  vd = disc.init(kd, jnp.zeros((1, size, size, 1), jnp.float32), y)
  opt_g, opt_d = gan.opt_g, gan.opt_d
  o = gan.options
  copy = lambda tree: jax.tree.map(jnp.copy, tree)  # distinct buffers (donation)
  zero = lambda: jnp.zeros((), jnp.float32)
  return TrainState(
      step=jnp.zeros((), jnp.int32), params_g=vg["params"],
      batch_stats_g=vg["batch_stats"], params_d=vd["params"],
      opt_state_g=opt_g.init(vg["params"]), opt_state_d=opt_d.init(vd["params"]),
      rng=keys["step"],
      spectral_d=dict(vd.get(cgan.SPECTRAL, {})),
      params_g_ema=copy(vg["params"]) if o.ema_decay else {},
      batch_stats_g_ema=copy(vg["batch_stats"]) if o.ema_decay else {},
      ada=({"p": zero(), "signs": zero(), "count": zero()}
           if o.augment == "ada" else {}),
      lecam=({"real": zero(), "fake": zero()} if o.lecam_weight
             else {}))


@dataclasses.dataclass(frozen=True)
class Options:
  """The GAN options of a config, resolved and validated (static). Their
  defaults and allowed values are configs/common.py's."""
  loss: str
  gp_weight: float
  r1_gamma: float
  augment: str
  ops: tuple  # the augmentation's ops ((): no augmentation)
  ada_target: float
  ada_interval: int
  ada_speed: float
  ema_decay: float
  d_steps: int
  spectral_norm: bool
  instance_noise: float
  instance_noise_steps: int
  ema_start: int
  ema_warmup: bool
  lecam_weight: float
  lecam_decay: float
  lr_decay_start: int
  lr_decay_steps: int

  @classmethod
  def from_config(cls, config) -> "Options":
    common.check_gan_options(config)
    t = config.train
    return cls(
        loss=t.loss, gp_weight=float(t.gp_weight),
        r1_gamma=float(t.r1_gamma), augment=t.augment,
        ops=(augment_lib.parse_policy(t.diffaugment_policy)
             if t.augment != "none" else ()),
        ada_target=float(t.ada_target), ada_interval=int(t.ada_interval),
        ada_speed=float(t.ada_speed), ema_decay=float(t.ema_decay),
        d_steps=int(t.d_steps), spectral_norm=bool(config.model.spectral_norm),
        instance_noise=float(t.instance_noise),
        instance_noise_steps=int(t.instance_noise_steps),
        ema_start=int(t.ema_start), ema_warmup=bool(t.ema_warmup),
        lecam_weight=float(t.lecam_weight),
        lecam_decay=float(t.lecam_decay),
        lr_decay_start=int(t.lr_decay_start),
        lr_decay_steps=int(t.lr_decay_steps))


@dataclasses.dataclass(frozen=True, eq=False)
class Gan:
  """A config resolved once for ``num_classes`` labels: its options, its two
  networks and their optimizers (``resolve``). The functions of this module
  take one as ``gan=`` instead of resolving the config again; nothing in it
  depends on ``config.seed``."""
  num_classes: int
  latent_dim: int
  options: Options
  gen: Any
  disc: Any
  opt_g: Any
  opt_d: Any


def resolve(config, num_classes: int) -> Gan:
  """``config``'s options (validated), networks and optimizers."""
  gen, disc = cgan.build_models(config, num_classes)
  opt_g, opt_d = make_optimizers(config)
  return Gan(num_classes=num_classes,
             latent_dim=int(config.model.latent_dim),
             options=Options.from_config(config), gen=gen, disc=disc,
             opt_g=opt_g, opt_d=opt_d)


def _resolved(config, num_classes: int, gan) -> Gan:
  return resolve(config, num_classes) if gan is None else gan


def _options(config, gan) -> Options:
  return Options.from_config(config) if gan is None else gan.options


def real_batch_size(config, gan=None) -> int:
  """Real images one step consumes: batch_size * d_steps."""
  return config.train.batch_size * _options(config, gan).d_steps


def sampling_variables(config, state, gan=None):
  """(params, batch_stats) to sample with: the EMA generator when
  ``train.ema_decay`` > 0, else the trained one."""
  if _options(config, gan).ema_decay:
    return state.params_g_ema, state.batch_stats_g_ema
  return state.params_g, state.batch_stats_g


class _Schedule(NamedTuple):
  """A step's values that every D and G pass of it shares."""
  ada_p: Any  # ADA's p (None without ADA)
  sigma: Any  # instance-noise std (a Python float unless annealed)
  lr_scale: Any  # learning-rate decay factor (None: no decay, nothing added)


class _DState(NamedTuple):
  """What one D update hands the next (and the G update)."""
  params: Any
  opt_state: Any
  spectral: Any  # spectral-norm power-iteration state
  lecam: Any  # LeCam's logit EMAs ({} when off)


@dataclasses.dataclass(frozen=True, eq=False)
class TrainStep:
  """The D+G update of a resolved ``Gan``, in parts: ``train_step`` is the
  step; ``d_update``, ``g_update`` and ``averages`` (EMA, ADA and LeCam
  bookkeeping) its stages. Every option is a Python-level branch, so one
  that is off adds nothing to the compiled program: with all of them off
  this is the original's step."""
  gan: Gan

  @property
  def o(self) -> Options:
    return self.gan.options

  def generate(self, params_g, batch_stats_g, z, labels):
    return self.gan.gen.apply(
        {"params": params_g, "batch_stats": batch_stats_g}, z, labels,
        train=True, mutable=["batch_stats"])

  def d_apply(self, params_d, spectral, x, y, update=False):
    """D's logits and (when ``update``) its advanced spectral-norm state."""
    disc = self.gan.disc
    if not self.o.spectral_norm:
      return disc.apply({"params": params_d}, x, y), spectral
    variables = {"params": params_d, cgan.SPECTRAL: spectral}
    if not update:
      return disc.apply(variables, x, y), spectral
    logits, new = disc.apply(variables, x, y, train=True,
                             mutable=[cgan.SPECTRAL])
    return logits, new[cgan.SPECTRAL]

  def aug(self, x, key, sched: _Schedule):
    """``x`` as D sees it: augmented and with instance noise (if on)."""
    o = self.o
    if o.augment != "none":
      x = augment_lib.augment(x, key, o.ops,
                              p=sched.ada_p if o.augment == "ada" else None)
    if o.instance_noise:
      x = x + sched.sigma * jax.random.normal(
          jax.random.fold_in(key, 0x1A5E), x.shape, x.dtype)
    return x

  @staticmethod
  def decayed(updates, sched: _Schedule):
    """Adam's ``updates`` scaled by the learning-rate decay (if on)."""
    if sched.lr_scale is None:
      return updates
    return jax.tree.map(lambda u: u * sched.lr_scale.astype(u.dtype), updates)

  def schedule(self, state) -> _Schedule:
    o = self.o
    ada_p = state.ada["p"] if o.augment == "ada" else None
    sigma = o.instance_noise
    if o.instance_noise and o.instance_noise_steps:
      sigma = o.instance_noise * jnp.clip(
          1.0 - state.step.astype(jnp.float32) / o.instance_noise_steps,
          0.0, 1.0)
    lr_scale = None
    if o.lr_decay_steps:
      lr_scale = jnp.clip(
          1.0 - (state.step - o.lr_decay_start).astype(jnp.float32)
          / o.lr_decay_steps, 0.0, 1.0)
    return _Schedule(ada_p, sigma, lr_scale)

  def d_loss(self, params_d, d: _DState, sched, images, fake, labels, keys):
    """D's loss with its penalties, and (logits on real, on fake, advanced
    spectral state, penalty metrics, updated LeCam EMAs)."""
    o = self.o
    k_real, k_fake, k_gp, k_eps = keys
    logits_real, new_spectral = self.d_apply(
        params_d, d.spectral, self.aug(images, k_real, sched), labels,
        update=True)
    logits_fake, _ = self.d_apply(params_d, d.spectral,
                                  self.aug(fake, k_fake, sched), labels)
    loss = losses.d_loss(o.loss, logits_real, logits_fake)
    extra = {}
    if o.loss == "wgan_gp":
      d_fn = lambda x: self.d_apply(params_d, d.spectral,
                                    self.aug(x, k_gp, sched), labels)[0]
      extra["d_gp"] = losses.gradient_penalty(d_fn, images, fake, k_eps)
      loss = loss + o.gp_weight * extra["d_gp"]
    if o.r1_gamma:
      # Same augmentation as the real logits: grad of D(aug(x)) in x.
      d_fn = lambda x: self.d_apply(params_d, d.spectral,
                                    self.aug(x, k_real, sched), labels)[0]
      extra["d_r1"] = losses.r1_penalty(d_fn, images)
      loss = loss + 0.5 * o.r1_gamma * extra["d_r1"]
    new_lecam = d.lecam
    if o.lecam_weight:
      mean = lambda v: jnp.mean(jax.lax.stop_gradient(v).astype(jnp.float32))
      c = o.lecam_decay
      new_lecam = {
          "real": c * d.lecam["real"] + (1 - c) * mean(logits_real),
          "fake": c * d.lecam["fake"] + (1 - c) * mean(logits_fake)}
      extra["d_lecam"] = losses.lecam_penalty(
          logits_real, logits_fake, new_lecam["real"], new_lecam["fake"])
      loss = loss + o.lecam_weight * extra["d_lecam"]
    return loss, (logits_real, logits_fake, new_spectral, extra, new_lecam)

  def d_update(self, state, sched, d: _DState, images, labels, k_z, k_aug):
    """One Adam update of D on (images, labels) and fresh fakes of the
    step's G; returns ``d`` updated and the update's metrics."""
    batch = images.shape[0]
    z = jax.random.uniform(k_z, (batch, self.gan.latent_dim), minval=-1.0,
                           maxval=1.0)
    fake, _ = self.generate(state.params_g, state.batch_stats_g, z, labels)
    fake = jax.lax.stop_gradient(fake)
    keys = tuple(jax.random.split(k_aug, 4))
    (loss, (lr_, lf_, spectral, extra, lecam)), grads = jax.value_and_grad(
        self.d_loss, has_aux=True)(d.params, d, sched, images, fake, labels,
                                   keys)
    updates, opt_state = self.gan.opt_d.update(grads, d.opt_state, d.params)
    params = optax.apply_updates(d.params, self.decayed(updates, sched))
    metrics = {"d_loss": loss,
               "d_real_acc": jnp.mean((lr_ > 0).astype(jnp.float32)),
               "d_fake_acc": jnp.mean((lf_ < 0).astype(jnp.float32)),
               "ada_rt": jnp.mean(jnp.sign(lr_)), **extra}
    return _DState(params, opt_state, spectral, lecam), metrics

  def d_updates(self, state, sched, images, labels, k_zd, k_opt):
    """The step's ``d_steps`` D updates (update j on rows j, j + k, j + 2k,
    ...) and their mean metrics."""
    k = self.o.d_steps
    batch = images.shape[0] // k
    d = _DState(state.params_d, state.opt_state_d, state.spectral_d,
                state.lecam)
    d_metrics = []
    for j in range(k):
      if k == 1:
        x_j, y_j, k_z = images, labels, k_zd
      else:
        x_j = images.reshape(batch, k, *images.shape[1:])[:, j]
        y_j = labels.reshape(batch, k)[:, j]
        k_z = k_zd if j == 0 else jax.random.fold_in(k_zd, j)
      d, m = self.d_update(state, sched, d, x_j, y_j, k_z,
                           jax.random.fold_in(k_opt, j))
      d_metrics.append(m)
    metrics = dict(d_metrics[0]) if k == 1 else {
        name: sum(m[name] for m in d_metrics) / k for name in d_metrics[0]}
    return d, metrics

  def g_update(self, state, sched, d: _DState, batch, k_zg, k_yg, k_opt):
    """G's Adam update through the updated D on fresh noise and labels:
    (G's new state fields, metrics, (noise, labels))."""
    o = self.o
    z = jax.random.uniform(k_zg, (batch, self.gan.latent_dim), minval=-1.0,
                           maxval=1.0)
    y = jax.random.randint(k_yg, (batch,), 0, self.gan.num_classes)
    k_aug = jax.random.fold_in(k_opt, o.d_steps)

    def g_loss_fn(params_g):
      fake, new_vars = self.generate(params_g, state.batch_stats_g, z, y)
      logits, _ = self.d_apply(d.params, d.spectral,
                               self.aug(fake, k_aug, sched), y)
      return losses.g_loss(o.loss, logits), new_vars["batch_stats"]

    (loss, batch_stats), grads = jax.value_and_grad(
        g_loss_fn, has_aux=True)(state.params_g)
    updates, opt_state = self.gan.opt_g.update(grads, state.opt_state_g,
                                               state.params_g)
    params = optax.apply_updates(state.params_g,
                                 self.decayed(updates, sched))
    metrics = {"g_loss": loss}
    if sched.lr_scale is not None:
      metrics["lr_scale"] = sched.lr_scale
    if o.instance_noise and o.instance_noise_steps:
      metrics["instance_noise"] = sched.sigma
    new = {"params_g": params, "batch_stats_g": batch_stats,
           "opt_state_g": opt_state}
    return new, metrics, (z, y)

  def averages(self, state, params_g, noise, ada_rt, lecam):
    """The state's running averages after the step (the EMA generator,
    ADA's p and its sign sums, LeCam's logit EMAs: those that are on) and
    their metrics."""
    o = self.o
    new, metrics = {}, {}
    if o.ema_decay:
      c = o.ema_decay
      if o.ema_warmup:  # n = averaging steps so far, this one included
        n = (state.step - o.ema_start).astype(jnp.float32)
        c = jnp.minimum(c, (1.0 + n) / (10.0 + n))
      if o.ema_start:  # copy the weights until ema_start, then average
        c = jnp.where(state.step < o.ema_start, 0.0, c)
      new["params_g_ema"] = jax.tree.map(lambda e, p: c * e + (1.0 - c) * p,
                                         state.params_g_ema, params_g)
      _, ema_vars = self.generate(new["params_g_ema"],
                                  state.batch_stats_g_ema, *noise)
      new["batch_stats_g_ema"] = ema_vars["batch_stats"]
    if o.augment == "ada":
      signs = state.ada["signs"] + ada_rt * o.d_steps
      count = state.ada["count"] + o.d_steps
      adjust = (state.step + 1) % o.ada_interval == 0
      r_t = signs / jnp.maximum(count, 1.0)
      p = jnp.clip(state.ada["p"] + jnp.sign(r_t - o.ada_target)
                   * (o.ada_speed * o.ada_interval), 0.0, 1.0)
      new["ada"] = {"p": jnp.where(adjust, p, state.ada["p"]),
                    "signs": jnp.where(adjust, 0.0, signs),
                    "count": jnp.where(adjust, 0.0, count)}
      metrics.update(ada_p=new["ada"]["p"], ada_rt=ada_rt)
    if o.lecam_weight:
      new["lecam"] = lecam
      metrics.update(lecam_real=lecam["real"], lecam_fake=lecam["fake"])
    return new, metrics

  def train_step(self, state: TrainState, images, labels):
    key = jax.random.fold_in(state.rng, state.step)
    k_zd, k_zg, k_yg = jax.random.split(key, 3)
    k_opt = jax.random.fold_in(key, 1 << 20)  # keys of the options only
    sched = self.schedule(state)
    d, metrics = self.d_updates(state, sched, images, labels, k_zd, k_opt)
    ada_rt = metrics.pop("ada_rt")
    g, g_metrics, noise = self.g_update(
        state, sched, d, images.shape[0] // self.o.d_steps, k_zg, k_yg,
        k_opt)
    metrics.update(g_metrics)
    new, more = self.averages(state, g["params_g"], noise, ada_rt, d.lecam)
    metrics.update(more)
    new_state = state.replace(
        step=state.step + 1, **g, params_d=d.params,
        opt_state_d=d.opt_state, spectral_d=d.spectral, **new)
    return new_state, metrics


def make_train_step(config, num_classes: int, gan=None):
  """The pure (un-jitted) D+G update for ``config``
  (``TrainStep.train_step``)."""
  return TrainStep(_resolved(config, num_classes, gan)).train_step


def jit_train_step(config, num_classes: int, mesh, gan=None):
  """``make_train_step`` compiled for ``mesh``: state replicated, batch sharded.

  The input state is donated: its buffers are reused for the new state.
  """
  rep = parallel.replicated(mesh)
  data = parallel.batch_sharding(mesh)
  return jax.jit(make_train_step(config, num_classes, gan=gan),
                 in_shardings=(rep, data, data), out_shardings=(rep, rep),
                 donate_argnums=(0,),
                 compiler_options=parallel.compiler_options(config))


def make_d_probe(config, num_classes: int, gan=None):
  """jit(params_d, spectral_d, images, labels) -> (D's accuracy, its mean
  logit) on real ``images``, as the step's D sees an image without
  augmentation or noise (the power-iteration state is read, not advanced).
  Used on held-out real images to see D memorise its training set while it
  happens (``sigjax.train_loop.OverfitProbe``)."""
  gan = _resolved(config, num_classes, gan)
  disc = gan.disc
  spectral_norm = gan.options.spectral_norm

  @jax.jit(compiler_options=parallel.compiler_options(config))
  def probe(params_d, spectral_d, images, labels):
    variables = {"params": params_d}
    if spectral_norm:
      variables[cgan.SPECTRAL] = spectral_d
    logits = disc.apply(variables, images, labels)
    return jnp.mean((logits > 0).astype(jnp.float32)), jnp.mean(logits)
  return probe


# Metrics reported at their latest value, not averaged over a log interval.
LATEST_METRICS = ("ada_p",)
NO_BAD_STEP = 2 ** 31 - 1  # ``bad_step`` while every step was finite


def init_metric_sums(metric_names) -> dict:
  """The device-side metrics of a log interval: a float32 sum per metric
  (the latest value for ``LATEST_METRICS``) and ``bad_step``, the first step
  whose metrics were not all finite (``NO_BAD_STEP`` while none was)."""
  names = sorted(metric_names)
  zero = lambda: jnp.zeros((), jnp.float32)
  return {"sums": {k: zero() for k in names if k not in LATEST_METRICS},
          "latest": {k: zero() for k in names if k in LATEST_METRICS},
          "bad_step": jnp.full((), NO_BAD_STEP, jnp.int32)}


def accumulate_metrics(acc: dict, metrics: dict, step) -> dict:
  """``acc`` with one step's ``metrics`` added; ``step`` is the step just
  taken (1-based, ``state.step`` after it)."""
  values = {k: jnp.asarray(v, jnp.float32) for k, v in metrics.items()}
  finite = jnp.all(jnp.stack([jnp.isfinite(v) for v in values.values()]))
  bad = jnp.where(finite | (acc["bad_step"] != NO_BAD_STEP),
                  acc["bad_step"], step.astype(jnp.int32))
  return {"sums": {k: s + values[k] for k, s in acc["sums"].items()},
          "latest": {k: values[k] for k in acc["latest"]},
          "bad_step": bad}


def metric_names(config, num_classes: int, state, gan=None) -> tuple:
  """The names of the metrics ``make_train_step`` returns (traced only)."""
  size = config.data.image_size
  b = real_batch_size(config, gan)
  shapes = jax.eval_shape(
      make_train_step(config, num_classes, gan=gan), state,
      jax.ShapeDtypeStruct((b, size, size, 1), jnp.float32),
      jax.ShapeDtypeStruct((b,), jnp.int32))[1]
  return tuple(sorted(shapes))


def make_loop_step(config, num_classes: int, resident_size: int = 0,
                   sharding=None, seeds=None, gan=None):
  """The train loop's step: ``make_train_step`` plus the metric sums.

  ``resident_size`` = 0 (batches fed from the host):
    ``(state, acc, images, labels) -> (state, acc, step)``.
  ``resident_size`` = n > 0 (the training set resident on the device):
    ``(state, acc, all_images, all_labels, count) -> (state, acc, step)``
    takes ``count`` steps (``count`` = None: exactly one, no loop), each
    drawing its global batch from (config.seed, step) with
    ``sigjax.batch_order.permutation_batch_indices`` and gathering it from the
    resident arrays; ``sharding`` (the batch sharding) then splits it over
    the mesh, so each device gathers its own rows.
  ``step`` is the new ``state.step``, a small output that is not donated
  (the loop polls it to show progress without waiting). ``acc`` is
  ``init_metric_sums``'s pytree. ``gan``: the config already ``resolve``d.

  ``seeds`` (a list of S > 1 seeds; ``config.seed`` is then ignored): S
  independent GANs in one program, ``jax.vmap`` over the state, the metric
  sums and the data order. ``state`` and ``acc`` carry a leading axis of
  size S (seed i's at index i, from ``create_state`` of its own seed); fed
  batches are (S, batch, ...) (seed i's own batch at i); resident data is
  shared, each seed drawing its batch from its own order
  (``order_key(seeds[i])``); ``step`` is (S,).
  """
  # Looked up at call time, so tests can replace make_train_step.
  step_fn = make_train_step(config, num_classes, gan=gan)

  def one(state, acc, images, labels):
    state, metrics = step_fn(state, images, labels)
    return state, accumulate_metrics(acc, metrics, state.step)

  many = seeds is not None and len(seeds) > 1
  if not resident_size:
    def host_step(state, acc, images, labels):
      state, acc = (jax.vmap(one) if many else one)(state, acc, images,
                                                    labels)
      return state, acc, state.step
    return host_step

  batch = real_batch_size(config, gan)

  def gathered_one(state, acc, key, all_images, all_labels):
    idx = batch_order.permutation_batch_indices(key, state.step,
                                                resident_size, batch)
    images, labels = all_images[idx], all_labels[idx]
    if sharding is not None:
      images = jax.lax.with_sharding_constraint(images, sharding)
      labels = jax.lax.with_sharding_constraint(labels, sharding)
    return one(state, acc, images, labels)

  if many:
    keys = jnp.stack([batch_order.order_key(s) for s in seeds])
    gathered = lambda state, acc, x, y: jax.vmap(
        gathered_one, in_axes=(0, 0, 0, None, None))(state, acc, keys, x, y)
  else:
    key = batch_order.order_key(config.seed)
    gathered = lambda state, acc, x, y: gathered_one(state, acc, key, x, y)

  def resident_step(state, acc, all_images, all_labels, count=None):
    if count is None:
      state, acc = gathered(state, acc, all_images, all_labels)
    else:
      state, acc = jax.lax.fori_loop(
          0, count, lambda _, c: gathered(*c, all_images, all_labels),
          (state, acc))
    return state, acc, state.step
  return resident_step


def jit_loop_step(config, num_classes: int, mesh, resident_size: int = 0,
                  multi: bool = False, seeds=None, gan=None):
  """``make_loop_step`` compiled for ``mesh``: the state, the metric sums
  and the resident data replicated, fed batches sharded over ``data`` (the
  batch axis: axis 1 of a group's (S, batch, ...) batches).
  With ``multi`` (resident only) the step count is an argument: one
  executable serves every chunk length. State and sums are donated."""
  rep = parallel.replicated(mesh)
  many = seeds is not None and len(seeds) > 1
  batch = parallel.batch_sharding(mesh, leading=1 if many else 0)
  fn = make_loop_step(config, num_classes, resident_size,
                      parallel.batch_sharding(mesh)
                      if mesh.devices.size > 1 else None, seeds, gan=gan)
  if not resident_size:
    shardings = (rep, rep, batch, batch)
  elif multi:
    shardings = (rep, rep, rep, rep, rep)
  else:
    shardings = (rep, rep, rep, rep)
    fn = lambda s, a, x, y, f=fn: f(s, a, x, y)
  return jax.jit(fn, in_shardings=shardings, out_shardings=(rep, rep, rep),
                 donate_argnums=(0, 1),
                 compiler_options=parallel.compiler_options(config))


def make_sampler(config, num_classes: int, gan=None):
  """jit(params_g, batch_stats_g, z, labels) -> images, inference-mode BN."""
  gen = _resolved(config, num_classes, gan).gen

  @jax.jit(compiler_options=parallel.compiler_options(config))
  def sample(params_g, batch_stats_g, z, labels):
    return gen.apply({"params": params_g, "batch_stats": batch_stats_g}, z,
                     labels, train=False)
  return sample


def fixed_noise(config, num_classes: int):
  """The noise/labels of the sample grids: identical at every step."""
  k = config.train.samples_per_class
  key = root_keys(config.seed)["samples"]
  z = jax.random.uniform(key, (num_classes * k, config.model.latent_dim),
                         minval=-1.0, maxval=1.0)
  labels = jnp.repeat(jnp.arange(num_classes, dtype=jnp.int32), k)
  return z, labels

