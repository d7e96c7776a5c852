"""What learns: the GNN encoder, the SB3 policy glue, training, checkpoints and learned solving methods.

Depends on ``jssp``; ``jssp`` never imports this package.
"""
