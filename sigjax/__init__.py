"""sigjax: conditional-GAN signature replication in JAX/Flax."""

__version__ = "0.1.0"
