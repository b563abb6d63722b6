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
from typing import Any

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


def create_state(config, num_classes: int) -> TrainState:
  """A fresh train state, deterministic in ``config.seed``."""
  gen, disc = cgan.build_models(config, num_classes)
  keys = root_keys(config.seed)
  kg, kd = jax.random.split(keys["init"])
  size = config.data.image_size
  z = jnp.zeros((1, config.model.latent_dim), jnp.float32)
  y = jnp.zeros((1,), jnp.int32)
  vg = gen.init(kg, z, y, train=False)
  vd = disc.init(kd, jnp.zeros((1, size, size, 1), jnp.float32), y)
  opt_g, opt_d = make_optimizers(config)
  o = Options.from_config(config)
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
  """The GAN options of a config, resolved and validated (static)."""
  loss: str = "bce"
  gp_weight: float = 10.0
  r1_gamma: float = 0.0
  augment: str = "none"
  ops: tuple = ()
  ada_target: float = 0.6
  ada_interval: int = 4
  ada_speed: float = 5e-4
  ema_decay: float = 0.0
  d_steps: int = 1
  spectral_norm: bool = False
  instance_noise: float = 0.0
  instance_noise_steps: int = 0
  ema_start: int = 0
  ema_warmup: bool = False
  lecam_weight: float = 0.0
  lecam_decay: float = 0.99
  lr_decay_start: int = 0
  lr_decay_steps: int = 0

  @classmethod
  def from_config(cls, config) -> "Options":
    common.check_gan_options(config)
    get = lambda name, default: common.gan_option(config, "train", name,
                                                  default)
    augment = get("augment", "none")
    return cls(
        loss=get("loss", "bce"), gp_weight=float(get("gp_weight", 10.0)),
        r1_gamma=float(get("r1_gamma", 0.0)), augment=augment,
        ops=(augment_lib.parse_policy(get("diffaugment_policy", ""))
             if augment != "none" else ()),
        ada_target=float(get("ada_target", 0.6)),
        ada_interval=int(get("ada_interval", 4)),
        ada_speed=float(get("ada_speed", 5e-4)),
        ema_decay=float(get("ema_decay", 0.0)), d_steps=int(get("d_steps", 1)),
        instance_noise=float(get("instance_noise", 0.0)),
        instance_noise_steps=int(get("instance_noise_steps", 0)),
        ema_start=int(get("ema_start", 0)),
        ema_warmup=bool(get("ema_warmup", False)),
        lecam_weight=float(get("lecam_weight", 0.0)),
        lecam_decay=float(get("lecam_decay", 0.99)),
        lr_decay_start=int(get("lr_decay_start", 0)),
        lr_decay_steps=int(get("lr_decay_steps", 0)),
        spectral_norm=bool(common.gan_option(config, "model", "spectral_norm",
                                             False)))


def real_batch_size(config) -> int:
  """Real images one step consumes: batch_size * d_steps."""
  return config.train.batch_size * Options.from_config(config).d_steps


def sampling_variables(config, state):
  """(params, batch_stats) to sample with: the EMA generator when
  ``train.ema_decay`` > 0, else the trained one."""
  if Options.from_config(config).ema_decay:
    return state.params_g_ema, state.batch_stats_g_ema
  return state.params_g, state.batch_stats_g


def make_train_step(config, num_classes: int):
  """The pure (un-jitted) D+G update for ``config``."""
  gen, disc = cgan.build_models(config, num_classes)
  opt_g, opt_d = make_optimizers(config)
  latent = config.model.latent_dim
  o = Options.from_config(config)
  # Every option is a Python-level branch, so one that is off adds nothing to
  # the compiled program: with all of them off this is the original's step.

  def generate(params_g, batch_stats_g, z, labels):
    return gen.apply({"params": params_g, "batch_stats": batch_stats_g}, z,
                     labels, train=True, mutable=["batch_stats"])

  def d_apply(params_d, spectral, x, y, update=False):
    """D's logits and (when ``update``) its advanced spectral-norm state."""
    if not o.spectral_norm:
      return disc.apply({"params": params_d}, x, y), spectral
    variables = {"params": params_d, cgan.SPECTRAL: spectral}
    if not update:
      return disc.apply(variables, x, y), spectral
    logits, new = disc.apply(variables, x, y, train=True,
                             mutable=[cgan.SPECTRAL])
    return logits, new[cgan.SPECTRAL]

  def aug(x, key, ada_p, sigma):
    if o.augment != "none":
      x = augment_lib.augment(x, key, o.ops,
                              p=ada_p if o.augment == "ada" else None)
    if o.instance_noise:
      x = x + sigma * jax.random.normal(
          jax.random.fold_in(key, 0x1A5E), x.shape, x.dtype)
    return x

  def decayed(updates, lr_scale):
    """Adam's ``updates`` scaled by the learning-rate decay (if on)."""
    if lr_scale is None:
      return updates
    return jax.tree.map(lambda u: u * lr_scale.astype(u.dtype), updates)

  def d_update(state, params_d, opt_state_d, spectral, images, labels, k_z,
               k_aug, ada_p, sigma, lecam, lr_scale):
    """One Adam update of D on (images, labels) and fresh fakes; ``lecam``
    (the LeCam logit EMAs, {} when off) comes back updated."""
    batch = images.shape[0]
    z = jax.random.uniform(k_z, (batch, latent), minval=-1.0, maxval=1.0)
    fake, _ = generate(state.params_g, state.batch_stats_g, z, labels)
    fake = jax.lax.stop_gradient(fake)

    k_real, k_fake, k_gp, k_eps = jax.random.split(k_aug, 4)

    def d_loss_fn(params_d):
      logits_real, new_spectral = d_apply(
          params_d, spectral, aug(images, k_real, ada_p, sigma), labels,
          update=True)
      logits_fake, _ = d_apply(params_d, spectral,
                               aug(fake, k_fake, ada_p, sigma), labels)
      loss = losses.d_loss(o.loss, logits_real, logits_fake)
      extra = {}
      if o.loss == "wgan_gp":
        d_fn = lambda x: d_apply(params_d, spectral,
                                 aug(x, k_gp, ada_p, sigma), labels)[0]
        extra["d_gp"] = losses.gradient_penalty(d_fn, images, fake, k_eps)
        loss = loss + o.gp_weight * extra["d_gp"]
      if o.r1_gamma:
        # Same augmentation as the real logits: grad of D(aug(x)) in x.
        d_fn = lambda x: d_apply(params_d, spectral,
                                 aug(x, k_real, ada_p, sigma), labels)[0]
        extra["d_r1"] = losses.r1_penalty(d_fn, images)
        loss = loss + 0.5 * o.r1_gamma * extra["d_r1"]
      new_lecam = lecam
      if o.lecam_weight:
        mean = lambda v: jnp.mean(jax.lax.stop_gradient(v).astype(
            jnp.float32))
        d = o.lecam_decay
        new_lecam = {"real": d * lecam["real"] + (1 - d) * mean(logits_real),
                     "fake": d * lecam["fake"] + (1 - d) * mean(logits_fake)}
        extra["d_lecam"] = losses.lecam_penalty(
            logits_real, logits_fake, new_lecam["real"], new_lecam["fake"])
        loss = loss + o.lecam_weight * extra["d_lecam"]
      return loss, (logits_real, logits_fake, new_spectral, extra, new_lecam)

    (d_loss, (lr_, lf_, spectral, extra, lecam)), d_grads = (
        jax.value_and_grad(d_loss_fn, has_aux=True)(params_d))
    d_updates, opt_state_d = opt_d.update(d_grads, opt_state_d, params_d)
    params_d = optax.apply_updates(params_d, decayed(d_updates, lr_scale))
    metrics = {"d_loss": d_loss,
               "d_real_acc": jnp.mean((lr_ > 0).astype(jnp.float32)),
               "d_fake_acc": jnp.mean((lf_ < 0).astype(jnp.float32)),
               "ada_rt": jnp.mean(jnp.sign(lr_)), **extra}
    return params_d, opt_state_d, spectral, metrics, lecam

  def train_step(state: TrainState, images, labels):
    key = jax.random.fold_in(state.rng, state.step)
    k_zd, k_zg, k_yg = jax.random.split(key, 3)
    k_opt = jax.random.fold_in(key, 1 << 20)  # keys of the options only
    ada_p = state.ada["p"] if o.augment == "ada" else None
    batch = images.shape[0] // o.d_steps
    sigma = o.instance_noise  # a Python float unless it is annealed
    if o.instance_noise and o.instance_noise_steps:
      sigma = o.instance_noise * jnp.clip(
          1.0 - state.step.astype(jnp.float32) / o.instance_noise_steps,
          0.0, 1.0)
    lr_scale = None  # None: no decay, nothing added to the program
    if o.lr_decay_steps:
      lr_scale = jnp.clip(
          1.0 - (state.step - o.lr_decay_start).astype(jnp.float32)
          / o.lr_decay_steps, 0.0, 1.0)

    # Discriminator updates: update j uses rows j, j + k, j + 2k, ...
    params_d, opt_state_d, spectral = (state.params_d, state.opt_state_d,
                                       state.spectral_d)
    d_metrics = []
    lecam = state.lecam
    for j in range(o.d_steps):
      if o.d_steps == 1:
        x_j, y_j, k_z = images, labels, k_zd
      else:
        x_j = images.reshape(batch, o.d_steps, *images.shape[1:])[:, j]
        y_j = labels.reshape(batch, o.d_steps)[:, j]
        k_z = k_zd if j == 0 else jax.random.fold_in(k_zd, j)
      params_d, opt_state_d, spectral, m, lecam = d_update(
          state, params_d, opt_state_d, spectral, x_j, y_j, k_z,
          jax.random.fold_in(k_opt, j), ada_p, sigma, lecam, lr_scale)
      d_metrics.append(m)
    metrics = dict(d_metrics[0]) if o.d_steps == 1 else {
        k: sum(m[k] for m in d_metrics) / o.d_steps for k in d_metrics[0]}
    ada_rt = metrics.pop("ada_rt")

    # Generator update through the updated discriminator.
    z_g = jax.random.uniform(k_zg, (batch, latent), minval=-1.0, maxval=1.0)
    y_g = jax.random.randint(k_yg, (batch,), 0, num_classes)
    k_aug_g = jax.random.fold_in(k_opt, o.d_steps)

    def g_loss_fn(params_g):
      fake_g, new_vars = generate(params_g, state.batch_stats_g, z_g, y_g)
      logits, _ = d_apply(params_d, spectral,
                          aug(fake_g, k_aug_g, ada_p, sigma), y_g)
      return losses.g_loss(o.loss, logits), new_vars["batch_stats"]

    (g_loss, batch_stats_g), g_grads = jax.value_and_grad(
        g_loss_fn, has_aux=True)(state.params_g)
    g_updates, opt_state_g = opt_g.update(g_grads, state.opt_state_g,
                                          state.params_g)
    params_g = optax.apply_updates(state.params_g,
                                   decayed(g_updates, lr_scale))
    metrics["g_loss"] = g_loss
    if lr_scale is not None:
      metrics["lr_scale"] = lr_scale
    if o.instance_noise and o.instance_noise_steps:
      metrics["instance_noise"] = sigma

    new = {}
    if o.ema_decay:
      d = o.ema_decay
      if o.ema_warmup:  # n = averaging steps so far, this one included
        n = (state.step - o.ema_start).astype(jnp.float32)
        d = jnp.minimum(d, (1.0 + n) / (10.0 + n))
      if o.ema_start:  # copy the weights until ema_start, then average
        d = jnp.where(state.step < o.ema_start, 0.0, d)
      new["params_g_ema"] = jax.tree.map(lambda e, p: d * e + (1.0 - d) * p,
                                         state.params_g_ema, params_g)
      _, ema_vars = generate(new["params_g_ema"], state.batch_stats_g_ema,
                             z_g, y_g)
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
    new_state = state.replace(
        step=state.step + 1, params_g=params_g, batch_stats_g=batch_stats_g,
        params_d=params_d, opt_state_g=opt_state_g, opt_state_d=opt_state_d,
        spectral_d=spectral, **new)
    return new_state, metrics

  return train_step


def jit_train_step(config, num_classes: int, mesh):
  """``make_train_step`` compiled for ``mesh``: state replicated, batch sharded.

  The input state is donated: its buffers are reused for the new state.
  """
  rep = parallel.replicated(mesh)
  data = parallel.batch_sharding(mesh)
  return jax.jit(make_train_step(config, num_classes),
                 in_shardings=(rep, data, data), out_shardings=(rep, rep),
                 donate_argnums=(0,),
                 compiler_options=parallel.compiler_options(config))


def make_d_probe(config, num_classes: int):
  """jit(params_d, spectral_d, images, labels) -> (D's accuracy, its mean
  logit) on real ``images``, as the step's D sees an image without
  augmentation or noise (the power-iteration state is read, not advanced).
  Used on held-out real images to see D memorise its training set while it
  happens (``sigjax.train_loop.OverfitProbe``)."""
  _, disc = cgan.build_models(config, num_classes)
  spectral_norm = Options.from_config(config).spectral_norm

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


def metric_names(config, num_classes: int, state) -> tuple:
  """The names of the metrics ``make_train_step`` returns (traced only)."""
  size = config.data.image_size
  b = real_batch_size(config)
  shapes = jax.eval_shape(
      make_train_step(config, num_classes), state,
      jax.ShapeDtypeStruct((b, size, size, 1), jnp.float32),
      jax.ShapeDtypeStruct((b,), jnp.int32))[1]
  return tuple(sorted(shapes))


def make_loop_step(config, num_classes: int, resident_size: int = 0,
                   sharding=None, seeds=None):
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
  ``init_metric_sums``'s pytree.

  ``seeds`` (a list of S > 1 seeds; ``config.seed`` is then ignored): S
  independent GANs in one program, ``jax.vmap`` over the state, the metric
  sums and the data order. ``state`` and ``acc`` carry a leading axis of
  size S (seed i's at index i, from ``create_state`` of its own seed); fed
  batches are (S, batch, ...) (seed i's own batch at i); resident data is
  shared, each seed drawing its batch from its own order
  (``order_key(seeds[i])``); ``step`` is (S,).
  """
  # Looked up at call time, so tests can replace make_train_step.
  step_fn = make_train_step(config, num_classes)

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

  batch = real_batch_size(config)

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
                  multi: bool = False, seeds=None):
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
                      if mesh.devices.size > 1 else None, seeds)
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


def make_sampler(config, num_classes: int):
  """jit(params_g, batch_stats_g, z, labels) -> images, inference-mode BN."""
  gen, _ = cgan.build_models(config, num_classes)

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

