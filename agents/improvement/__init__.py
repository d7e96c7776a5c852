"""The improvement mode: a policy that picks N5 moves on complete schedules (:mod:`~agents.improvement.policy`),
its PPO training (:mod:`~agents.improvement.training`, ``train.py improvement``) and its rollouts
(:mod:`~agents.improvement.inference`, the ``ls-<steps>`` methods)."""
