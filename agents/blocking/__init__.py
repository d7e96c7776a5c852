"""What learns for the blocking job shop with shutdowns (:mod:`jssp.blocking`): the online dispatcher
(:mod:`~agents.blocking.policy`) and its PPO training (:mod:`~agents.blocking.ppo`, ``train.py ppo-isbjssp``)."""
