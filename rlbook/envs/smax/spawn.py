"""Start positions and unit types at reset: the fixed two-blob spawn and the SMACv2 generators.

The key schedule copies jaxmarl 0.2.0 exactly (so resets agree bit for bit), but the SMACv2 generators are
chosen with a Python ``if`` at trace time: maps without the flags never trace them (jaxmarl computes them on
every reset and discards the result), which does not change any random number drawn.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def fixed_positions(key_allies, key_enemies, num_allies, num_enemies, width, height):
    """Allies around (W/4, H/2), enemies around (3W/4, H/2), each with U(-2, 2)^2 noise."""
    a0 = jnp.array([width / 4, height / 2])
    e0 = jnp.array([width / 4 * 3, height / 2])
    a = a0 + jax.random.uniform(key_allies, (num_allies, 2), minval=-2, maxval=2)
    e = e0 + jax.random.uniform(key_enemies, (num_enemies, 2), minval=-2, maxval=2)
    return jnp.concatenate([a, e])


def _reflect(key, na, ne, w, h):
    key, k_allies = jax.random.split(key)
    allies = jax.random.uniform(
        k_allies, (na, 2), minval=jnp.array([0.0, 0.0]), maxval=jnp.array([w / 2, h])
    )
    mirrored = jnp.stack([w - allies[:, 0], allies[:, 1]], axis=-1)
    if ne >= na:
        extra = jax.random.uniform(
            key, (ne - na, 2), minval=jnp.array([w / 2, 0.0]), maxval=jnp.array([w, h])
        )
        enemies = jnp.concatenate([mirrored, extra])
    else:
        enemies = mirrored[:ne]
    return jnp.concatenate([allies, enemies])


def _surround_draw(key, n_inside, n_outside, w, h):
    key, k_centre = jax.random.split(key)
    inside = jnp.array([w / 2, h / 2]) + jax.random.uniform(
        k_centre, (n_inside, 2), minval=-2, maxval=2
    )
    key, k_groups = jax.random.split(key)
    groups = jax.random.categorical(k_groups, jnp.log(jnp.ones((4,)) / 4), shape=(n_outside,))
    centre = jnp.array([[w / 2.0, h / 2.0]] * 4)
    corners = jnp.array([[0.0, 0.0], [0.0, h], [w, 0], [w, h]])
    key, k_t = jax.random.split(key)
    t = jax.random.uniform(k_t, (4, 1), minval=0.0, maxval=1.0)
    group_pos = t * centre + (1 - t) * corners
    key, k_noise = jax.random.split(key)
    outside = group_pos[groups] + jax.random.uniform(k_noise, (n_outside, 2), minval=-2, maxval=2)
    return inside, outside


def _surround(key, na, ne, w, h):
    key, k_a, k_e = jax.random.split(key, 3)
    a_in, e_out = _surround_draw(k_a, na, ne, w, h)
    e_in, a_out = _surround_draw(k_e, ne, na, w, h)
    allies_inside = jax.random.randint(key, (), 0, 2)
    return jnp.where(
        allies_inside == 1, jnp.concatenate([a_in, e_out]), jnp.concatenate([a_out, e_in])
    )


def smacv2_positions(key, na, ne, w, h):
    """Half the time 'surround' (one team at the centre, the other in 4 groups), else 'reflect'."""
    k_draw, k_surround, k_reflect = jax.random.split(key, 3)
    u = jax.random.uniform(k_draw)
    return jnp.where(
        u < 0.5, _surround(k_surround, na, ne, w, h), _reflect(k_reflect, na, ne, w, h)
    )


def smacv2_unit_types(key, na, ne, n_types, compat: bool = True):
    """Allies uniform over the types; enemies copy them.

    jaxmarl 0.2.0 means to draw the extra enemies (ne > na) uniformly too, but discards the result of the
    ``.at[].set`` so they stay marines (type 0). ``compat=True`` (default) copies that bug, ``False`` fixes it.
    """
    k_enemy, k_ally = jax.random.split(key)
    logits = jnp.log(jnp.ones((n_types,)) / n_types)
    allies = jax.random.categorical(k_ally, logits, shape=(na,)).astype(jnp.uint8)
    if ne >= na:
        extra = jnp.zeros((ne - na,), jnp.uint8)
        if not compat:
            extra = jax.random.categorical(k_enemy, logits, shape=(ne - na,)).astype(jnp.uint8)
        enemies = jnp.concatenate([allies, extra])
    else:
        enemies = allies[:ne]
    return jnp.concatenate([allies, enemies]).astype(jnp.uint8)
