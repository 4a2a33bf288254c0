# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (rlbook)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Appendix A. Primers: PPO with GAE, and evolution strategies
#
# Two algorithms carry most of the book's training and are never derived in the chapters that use
# them. **PPO with generalised advantage estimation** trains the MinAtar agents of Chapters 9 and 10,
# the SMAX teams of Chapter 8, the victims of Chapter 7, M-FOS's PPO meta-learner (Chapter 2) and
# Shaper's co-players (Chapter 3). **Evolution strategies** train the meta-learners of Chapters 2, 3, 6
# and 7, where one fitness evaluation is a whole learning run and gradients through it are out of
# reach. This appendix writes each down once, maps every line of maths to the function in `rlbook.rl`
# or `rlbook.learners.es` that runs it, and checks the code against the maths.
#
# **Prerequisites:** the policy-gradient theorem and a Gaussian's log-density. **Notation** as in the
# index: $s_t, a_t, r_t$ state, action, reward at step $t$; $d_t = 1$ when the episode ended at $t$;
# $\gamma$ discount; $V$ a learned value; $\pi_\theta$ the policy with parameters $\theta$.

# %%
import jax
import jax.numpy as jnp
import numpy as np

from rlbook import rl
from rlbook.book.nb import fmt, nb_setup, show_source
from rlbook.learners.es import OpenES, centered_ranks

SEED = 0
PRESET = "book"
key = jax.random.key(SEED)
rng = nb_setup(SEED)

# %% [markdown]
# ## A.1 Advantages: from Monte Carlo to TD, with one knob
#
# A policy-gradient step moves $\theta$ along $\mathbb{E}[\nabla_\theta \log \pi_\theta(a_t|s_t)\,
# A_t]$, where the advantage $A_t$ says how much better $a_t$ was than the policy's average in $s_t$.
# Two estimates sit at the ends of a bias-variance line. The **Monte-Carlo** advantage
# $G_t - V(s_t)$, with $G_t = r_t + \gamma (1-d_t) G_{t+1}$, is unbiased but sums every future
# reward's noise. The **one-step TD error**
#
# $$\delta_t = r_t + \gamma (1 - d_t) V(s_{t+1}) - V(s_t)$$
#
# has low variance but inherits $V$'s errors. **GAE** (Schulman et al., 2016) averages the $k$-step
# estimates with weights $(1-\lambda)\lambda^{k-1}$, which telescopes into one backward recursion:
#
# $$A_t = \delta_t + \gamma \lambda (1 - d_t) A_{t+1}, \qquad \text{value target } = A_t + V(s_t).$$
#
# $\lambda = 0$ gives $\delta_t$; $\lambda = 1$ gives $G_t - V(s_t)$ exactly (bootstrapped from the
# value of the state after the rollout's last step). The $(1 - d_t)$ factor cuts both the bootstrap
# and the recursion at episode ends, so one rollout can hold many episodes. The code is that
# recursion as a reverse `lax.scan`:

# %%
show_source(rl.gae)
show_source(rl.discounted_returns)

# %% [markdown]
# Both ends of the line, checked on a random rollout of 64 steps in 8 environments with episode ends
# scattered through it:

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code
k1, k2, k3, k4 = jax.random.split(key, 4)
T, E, gamma = 64, 8, 0.97
rewards = jax.random.normal(k1, (T, E))
values = jax.random.normal(k2, (T, E))
dones = (jax.random.uniform(k3, (T, E)) < 0.1).astype(jnp.float32)
last_value = jax.random.normal(k4, (E,))

adv0, _ = rl.gae(rewards, values, dones, last_value, gamma, 0.0)
next_values = jnp.concatenate([values[1:], last_value[None]])
td = rewards + gamma * (1 - dones) * next_values - values
# lambda = 1: Monte-Carlo returns of the rollout with the final bootstrap folded into the last reward
boot = rewards.at[-1].add(gamma * (1 - dones[-1]) * last_value)
adv1, targets1 = rl.gae(rewards, values, dones, last_value, gamma, 1.0)
mc = rl.discounted_returns(boot, gamma, dones)
err0 = float(jnp.max(jnp.abs(adv0 - td)))
err1 = float(jnp.max(jnp.abs(adv1 - (mc - values))))
print(f"lambda = 0: max |GAE - TD error| = {err0:.1e}")
print(f"lambda = 1: max |GAE - (G_t - V)| = {err1:.1e}")
assert err0 < 1e-5 and err1 < 1e-4

# %% [markdown]
# ## A.2 PPO's clipped surrogate
#
# Reusing one batch for several epochs of gradient steps makes the data off-policy: the rollout came
# from $\pi_{\text{old}}$. The importance ratio $\rho_t = \pi_\theta(a_t|s_t) / \pi_{\text{old}}(a_t|s_t)$
# corrects for that, and PPO (Schulman et al., 2017) keeps the correction honest by clipping it:
#
# $$L^{\text{clip}}(\theta) = -\,\mathbb{E}_t\big[\min\big(\rho_t A_t,\ \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\,A_t\big)\big].$$
#
# The minimum makes the objective a pessimistic bound: once the ratio has moved past $1 \pm \epsilon$ in
# the direction the advantage favours, the clipped term is constant and its gradient is zero, so the
# policy stops moving that action's probability further within this batch. Moves in the unfavoured
# direction are never clipped. The value function gets a squared loss to the GAE targets (PureJaxRL
# clips it the same way), and an entropy bonus keeps exploration alive:
#
# $$L = L^{\text{clip}} + c_v\, L^{V} - c_H\, \mathbb{E}_t[\mathcal{H}(\pi_\theta(\cdot|s_t))].$$

# %%
show_source(rl.clipped_policy_loss)
show_source(rl.clipped_value_loss)


# %% [markdown]
# The zero-gradient region, checked with `jax.grad` on one sample: with a positive advantage the
# gradient with respect to $\log \pi_\theta(a|s)$ is $-\rho A$ inside the clip range and exactly zero
# once $\rho > 1 + \epsilon$; with a negative advantage it is zero once $\rho < 1 - \epsilon$.


# %%
def surrogate_grad(log_ratio, advantage, eps=0.2):
    loss = lambda lp: rl.clipped_policy_loss(lp, jnp.zeros(1), jnp.array([advantage]), eps)[0]  # noqa: E731
    return float(jax.grad(loss)(jnp.array([log_ratio]))[0]) + 0.0  # + 0.0: no '-0.000'


rows = [(r, a, surrogate_grad(np.log(r), a)) for r in (0.7, 0.9, 1.1, 1.3) for a in (1.0, -1.0)]
for r, a, g in rows:
    print(f"ratio {r:.1f}, advantage {a:+.0f}: d loss / d log pi = {g:+.3f}")
grads = {(r, a): g for r, a, g in rows}
assert grads[(1.3, 1.0)] == 0.0 and grads[(0.7, -1.0)] == 0.0  # clipped: no further push
assert abs(grads[(1.1, 1.0)] + 1.1) < 1e-5 and abs(grads[(0.7, 1.0)] + 0.7) < 1e-5  # -rho * A

# %% [markdown]
# One PPO update is then: roll out $T$ steps in $E$ environments with `lax.scan`, compute GAE, and
# run a few epochs of minibatch gradient steps on $L$ over the flattened $T \cdot E$ samples (shuffled
# each epoch, advantages normalised per minibatch, gradients clipped by global norm). `rl.run_epochs`
# is that loop, shared by every PPO in the book:

# %%
show_source(rl.run_epochs)

# %% [markdown]
# ## A.3 Evolution strategies: gradients without backpropagation
#
# When the objective $F(\theta)$ is a whole learning run of another agent (a meta-learner's return
# after its co-player has learned for hundreds of steps), backpropagating through it is expensive,
# memory-hungry and often chaotic. Evolution strategies optimise the Gaussian-smoothed objective
# instead:
#
# $$J(\mu) = \mathbb{E}_{z \sim \mathcal{N}(0, I)}\big[F(\mu + \sigma z)\big], \qquad
# \nabla_\mu J = \frac{1}{\sigma}\,\mathbb{E}\big[F(\mu + \sigma z)\, z\big],$$
#
# the score-function identity for a Gaussian, which needs only evaluations of $F$. OpenES (Salimans et
# al., 2017) estimates it from a population of $N$ perturbations, with three variance reducers the
# book uses everywhere: **antithetic pairs** $\mu \pm \sigma z$ (constant and even terms of $F$
# cancel), **fitness shaping** (replace $F$ by centred ranks in $[-\tfrac12, \tfrac12]$, so one lucky
# outlier cannot dominate and the step is invariant to $F$'s scale), and **common random numbers** (all
# members of a generation face the same opponents and environment keys). The estimate feeds an
# ordinary optimiser (Adam), ascended:
#
# $$\hat g = \frac{1}{N \sigma} \sum_{i=1}^{N} f_i\, z_i, \qquad f = \text{centred\_ranks}(F(\mu + \sigma z_i)).$$

# %%
show_source(OpenES.ask_flat)
show_source(OpenES.tell)
show_source(centered_ranks)

# %% [markdown]
# The estimator, checked on a quadratic $F(\theta) = -\lVert \theta - c \rVert^2$ in 20 dimensions,
# whose gradient $-2(\theta - c)$ is known: with raw fitness, the ES estimate averaged over a large
# population points along the true gradient, and the smoothing adds nothing for a quadratic's gradient
# ($\nabla J = \nabla F$ exactly).

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code
D, c = 20, jnp.linspace(-1.0, 1.0, 20)
mu0 = jnp.zeros(D)
es_raw = OpenES(mu0, popsize=4096, sigma=0.1, lr=0.05, fitness_shaping="raw")
state = es_raw.init(mu0)
pop, _ = es_raw.ask(jax.random.key(1), state)
fitness = -jnp.sum((pop - c) ** 2, axis=1)
eps = (pop - state.mean) / state.sigma
g_hat = fitness @ eps / (es_raw.popsize * state.sigma)
g_true = -2 * (mu0 - c)
cos = float(g_hat @ g_true / (jnp.linalg.norm(g_hat) * jnp.linalg.norm(g_true)))
rel = float(jnp.linalg.norm(g_hat - g_true) / jnp.linalg.norm(g_true))
print(f"cosine(ES estimate, true gradient) = {fmt(cos)}, relative error = {fmt(rel)}")
assert cos > 0.95

# %% [markdown]
# And the whole loop: 200 generations of OpenES with centred ranks and a population of 32 find the
# optimum $c$ of the same quadratic, starting from 0.

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code
es = OpenES(mu0, popsize=32, sigma=0.1, lr=0.05)


@jax.jit
def es_run(key):
    def gen(state, k):
        pop, state = es.ask(k, state)
        state = es.tell(state, pop, -jnp.sum((pop - c) ** 2, axis=1))
        return state, -jnp.sum((es.mean(state) - c) ** 2)

    return jax.lax.scan(gen, es.init(mu0), jax.random.split(key, 200))


final, curve = es_run(jax.random.key(2))
dist = float(jnp.linalg.norm(es.mean(final) - c))
print(
    f"distance to the optimum: start {fmt(float(jnp.linalg.norm(c)))}, after 200 generations {fmt(dist)}"
)
assert dist < 0.1 * float(jnp.linalg.norm(c))

# %% [markdown]
# **Where the chapters use these.** PPO: `rlbook.learners.ppo` (Chapters 9, 10), `rlbook.learners.mappo`
# (Chapter 8), `rlbook.act.victim` (Chapter 7), M-FOS's PPO meta-learner (Chapter 2) and Shaper's
# co-players (Chapter 3), all through `rlbook.rl`. ES: `rlbook.learners.es.train_es` for M-FOS and
# Shaper (Chapters 2, 3), the N-player shaper (Chapter 6) and the cheap-talk adversary (Chapter 7).
#
# ## Key takeaways
# * GAE's $\lambda$ slides one estimator between TD ($\lambda = 0$, low variance, biased by $V$) and Monte
#   Carlo ($\lambda = 1$, unbiased, noisy); $(1 - d_t)$ cuts it at episode ends.
# * PPO's clipped ratio stops pushing an action's probability once it has moved $\epsilon$ in the
#   favoured direction within a batch; that is what makes several epochs on one batch safe.
# * ES estimates the gradient of a Gaussian-smoothed objective from evaluations alone; antithetic
#   pairs, centred ranks and common random numbers make it usable with populations of tens.
#
# ## Exercises
# 1. Show that GAE with $\lambda = 1$ and no episode end in the rollout equals $G_t - V(s_t)$ where
#    $G_t$ bootstraps from `last_value` after the final step (the identity checked in A.1).
# 2. With a negative advantage, for which ratios is PPO's gradient zero? Predict, then run
#    `surrogate_grad` for ratios 0.5 to 1.5.
# 3. Re-run the ES estimator check with `popsize=64`. How does the cosine change, and why does
#    antithetic sampling make a quadratic's estimate exact in the constant term?
#
# <details><summary>Solutions</summary>
#
# 1. With $d_t = 0$, $A_t = \sum_k \gamma^k \delta_{t+k}$ and the $V$ terms telescope, leaving
#    $\sum_k \gamma^k r_{t+k} + \gamma^{T-t} V(s_T) - V(s_t)$.
# 2. For $\rho < 1 - \epsilon$: below that the clipped term is constant and is the minimum.
# 3. The cosine drops (about $1/\sqrt{N}$ noise per direction); antithetic pairs cancel $F(\mu)$ and
#    every even-order term of $F$'s expansion, so only the odd terms (here the gradient) remain in
#    expectation, and for a quadratic the even terms' noise is cancelled pair by pair.
#
# </details>
#
# ## References
# * J. Schulman, P. Moritz, S. Levine, M. Jordan, P. Abbeel. *High-dimensional continuous control using
#   generalized advantage estimation.* ICLR 2016.
# * J. Schulman, F. Wolski, P. Dhariwal, A. Radford, O. Klimov. *Proximal policy optimization
#   algorithms.* arXiv:1707.06347, 2017.
# * T. Salimans, J. Ho, X. Chen, S. Sidor, I. Sutskever. *Evolution strategies as a scalable
#   alternative to reinforcement learning.* arXiv:1703.03864, 2017.
