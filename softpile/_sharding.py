"""`sharded`: map a per-sample (or per-window) function over devices."""

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

_AXIS = "shards"


def sharded(
    fn: Callable,
    *,
    # jaxlib ships no type stubs for `jax.Device`, so a type checker sees an unknown variable.
    devices: Sequence[jax.Device] | None = None,  # pyright: ignore[reportInvalidTypeForm]
) -> Callable[..., object]:
    r"""Map `fn` over the leading axis of its arguments, split across devices.

    `sharded(fn)(*args)` computes `fn` on every slice of the leading axis of `args` (samples,
    or fixed-size windows of a long region), like `jax.vmap(fn)`, but that axis is split
    evenly over `devices` with a `jax.sharding.NamedSharding`, and each device loops over its
    own slice (`jax.shard_map` with `jax.lax.map`; no communication between devices). Each
    sample runs the same program on any number of devices, so results are bit-identical to one
    device. When the axis is not a multiple of
    the number of devices it is padded with zeros, which `pileup` treats as empty reads, and
    the padding is cut from the result.

    Several hosts run the same code, one process per host, after
    `jax.distributed.initialize()`. Either give each process its own share of the windows
    (e.g. every `jax.process_count()`-th, from `jax.process_index()`): `sharded` spreads that
    share over the host's local devices, and each host keeps its own results. Or pass
    `devices=jax.devices()`, every process's devices: every process then calls with the same
    arguments (JAX checks that they are equal, by gathering them), computes the samples that
    fall on its own devices, and gets a global array back;
    `jax.experimental.multihost_utils.process_allgather(result, tiled=True)` brings all of it
    to every process. Both give the same bits as one device.

    **Arguments:**

    - `fn`: a function of arrays for one sample or window, e.g.
      `lambda reads, starts, quality: softpile.pileup(reads, starts, R, quality=quality)`;
      Python options (like `R`) are closed over, so they stay static.
    - `devices`: the devices to use, default `jax.local_devices()`; `jax.devices()` spans
      all processes.

    **Returns:**

    A function of the same arguments as `fn`, each with an extra leading axis (all of the same
    size), returning `fn`'s outputs (any pytree of arrays) with that leading axis.

    ```python
    >>> import numpy as np
    >>> import softpile
    >>> reads = np.stack([softpile.one_hot_reads(["ACG", "AGG"]),
    ...                   softpile.one_hot_reads(["TTT", "TAT"])])  # 2 samples
    >>> starts = np.array([[0, 1], [0, 0]])
    >>> counts = softpile.sharded(lambda r, s: softpile.pileup(r, s, 4).counts)(reads, starts)
    >>> counts.shape
    (2, 4, 4)
    >>> counts[1, :, 3].tolist()
    [2.0, 1.0, 2.0, 0.0]

    ```
    """
    devices = list(jax.local_devices() if devices is None else devices)
    if not devices:
        raise ValueError("sharded: `devices` is empty; pass at least one jax.Device.")
    mesh = Mesh(np.array(devices), (_AXIS,))
    spec = PartitionSpec(_AXIS)
    sharding = NamedSharding(mesh, spec)
    per_device = jax.jit(
        jax.shard_map(
            functools.partial(_map_samples, fn),
            mesh=mesh,
            in_specs=spec,
            out_specs=spec,
            check_vma=False,
        )
    )

    @functools.wraps(fn)
    def run(*args):
        leaves, treedef = jax.tree_util.tree_flatten(args)
        if not leaves:
            raise ValueError("sharded: the function needs at least one array argument.")
        sizes = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in leaves}
        if len(sizes) != 1 or None in sizes:
            shapes = [np.shape(leaf) for leaf in leaves]
            raise ValueError(
                "sharded: every argument needs the same leading (sample or window) axis; got "
                f"shapes {shapes}. Stack samples or windows along axis 0 (pad to equal size)."
            )
        size = np.shape(leaves[0])[0]
        padded_size = -(-size // len(devices)) * len(devices)
        padded = [
            jax.device_put(_pad_leading(jnp.asarray(leaf), padded_size), sharding)
            for leaf in leaves
        ]
        result = per_device(*jax.tree_util.tree_unflatten(treedef, padded))
        if padded_size == size:
            return result
        return jax.tree_util.tree_map(lambda x: x[:size], result)

    return run


def _map_samples(fn, *args):
    # A loop over the device's samples, not jax.vmap: each sample then runs the same compiled
    # program whatever the number of devices (a vmapped batch of 2 and one of 8 may be
    # vectorised differently by XLA and differ in the last bit).
    return jax.lax.map(lambda sample: fn(*sample), args)


def _pad_leading(array, size: int):
    if array.shape[0] == size:
        return array
    widths = [(0, size - array.shape[0])] + [(0, 0)] * (array.ndim - 1)
    return jnp.pad(array, widths)
