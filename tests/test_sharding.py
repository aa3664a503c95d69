"""`softpile.sharded` on 4 forced CPU devices: bit-identical to one device.

XLA reads `XLA_FLAGS` once, when JAX starts, so the check runs in a fresh Python process
with `--xla_force_host_platform_device_count=4` set before `import jax`.
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import softpile

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]

CHECK = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax
    import jax.numpy as jnp
    import numpy as np
    import softpile

    assert jax.device_count() == 4, jax.devices()
    reference_length = 30

    def problem(samples, seed):
        rng = np.random.default_rng(seed)
        reads = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (samples, 50, 8))]
        soft = rng.random((samples, 50, 8)) < 0.3  # some soft columns (e.g. filtered, or N)
        reads[soft] = rng.random((int(soft.sum()), 4)).astype(np.float32)
        reads[rng.random((samples, 50, 8)) < 0.1] = 0.0
        quality = rng.uniform(0, 40, (samples, 50, 8)).astype(np.float32)
        starts = rng.integers(-8, reference_length, (samples, 50)).astype(np.int32)
        weights = rng.uniform(0.5, 1.0, (samples, 50)).astype(np.float32)
        insertions = (rng.random((samples, 50, 8)) < 0.1).astype(np.float32)
        return reads, starts, quality, weights, insertions

    def one(reads, starts, quality, weights, insertions):
        return softpile.pileup(reads, starts, reference_length, quality=quality,
                               read_weights=weights, insertions=insertions)

    def loss(reads, starts, quality, weights, insertions):
        piled = one(reads, starts, quality, weights, insertions)
        return jnp.sum(piled.distribution ** 2) + jnp.sum(piled.log_likelihoods)

    def gradients(reads, starts, quality, weights, insertions):
        return jax.grad(loss, argnums=(0, 2))(reads, starts, quality, weights, insertions)

    single_device = [jax.devices()[0]]
    for samples in (8, 6):  # 6: not a multiple of 4, padded and cut
        args = problem(samples, seed=samples)
        for fn in (one, gradients):
            on_four = softpile.sharded(fn)(*args)
            on_one = softpile.sharded(fn, devices=single_device)(*args)
            for a, b in zip(jax.tree.leaves(on_four), jax.tree.leaves(on_one)):
                assert a.shape[0] == samples, a.shape
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
            if samples == 8:
                devices = jax.tree.leaves(on_four)[0].sharding.device_set
                assert len(devices) == 4, devices
            # And each sample equals fn called on it alone, and jax.vmap(fn) (to rounding).
            plain = jax.jit(jax.vmap(fn))(*args)
            for s in range(samples):
                alone = jax.jit(fn)(*(x[s] for x in args))
                for a, b, c in zip(jax.tree.leaves(on_four), jax.tree.leaves(alone),
                                   jax.tree.leaves(plain)):
                    np.testing.assert_allclose(np.asarray(a[s]), np.asarray(b),
                                               rtol=1e-5, atol=1e-5)
                    np.testing.assert_allclose(np.asarray(a[s]), np.asarray(c[s]),
                                               rtol=1e-5, atol=1e-5)
    print("sharded OK")
    """
)


def test_sharded_on_four_devices_is_bit_identical_to_one_device():
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPOSITORY), *filter(None, [environment.get("PYTHONPATH")])]
    )
    environment.pop("XLA_FLAGS", None)
    finished = subprocess.run(
        [sys.executable, "-c", CHECK],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "sharded OK" in finished.stdout


def test_sharded_single_device_equals_vmap():
    reads = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (3, 5, 6))]
    starts = np.array([[0, 1, 2, -3, 9]] * 3, np.int32)

    def fn(reads, starts):
        return softpile.pileup(reads, starts, 10).counts

    np.testing.assert_array_equal(
        softpile.sharded(fn)(reads, starts), np.stack([fn(reads[s], starts[s]) for s in range(3)])
    )


def test_sharded_rejects_mismatched_leading_axes():
    with pytest.raises(ValueError, match="same leading"):
        softpile.sharded(lambda a, b: a + b)(np.zeros((2, 3)), np.zeros((3, 3)))
