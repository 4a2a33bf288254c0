"""The RL core every learner in rlbook uses: returns and advantages, PPO's losses, categorical helpers,
the epoch/minibatch update loop and the optimiser, episode statistics, the ``TrainOutput`` every
``make_train`` returns, and (in ``rlbook.rl.networks``) the torso / actor-critic networks. One copy of
each; learners and meta-learners import from here. ``rlbook.rl.shard`` splits a batch axis (seeds,
population, environments) over devices.
"""

from rlbook.rl import progress
from rlbook.rl.losses import (
    categorical_entropy,
    categorical_logp,
    categorical_logp_entropy,
    clipped_policy_loss,
    clipped_value_loss,
)
from rlbook.rl.output import TrainOutput
from rlbook.rl.returns import discounted_returns, gae, normalise
from rlbook.rl.seeds import seed_keys, train_seeds
from rlbook.rl.shard import batch_mesh, on_batch_axis
from rlbook.rl.stats import episode_count, episode_mean, track_returns
from rlbook.rl.update import linear_schedule, make_optimizer, minibatch_indices, run_epochs

__all__ = [
    "TrainOutput",
    "batch_mesh",
    "categorical_entropy",
    "categorical_logp",
    "categorical_logp_entropy",
    "clipped_policy_loss",
    "clipped_value_loss",
    "discounted_returns",
    "episode_count",
    "episode_mean",
    "gae",
    "linear_schedule",
    "make_optimizer",
    "minibatch_indices",
    "normalise",
    "on_batch_axis",
    "progress",
    "run_epochs",
    "seed_keys",
    "track_returns",
    "train_seeds",
]
