"""What the simulator raises when a shop cannot go on (light: the problem's registration names them)."""

DEFAULT_PATIENCE = 10_000
"""Events per machine (shutdowns, repairs) in a row without a job moving or finishing before :class:`JammedError`."""


class StallError(RuntimeError):
    """The simulation stopped with unfinished jobs and no pending event (a simulator bug when swaps are on)."""


class DeadlockError(StallError):
    """Without swaps, blocked jobs wait for each other in a cycle and no event can free them."""


class JammedError(StallError):
    """No job moved or finished over many shutdowns and repairs: the shop is jammed for any practical purpose.

    A cycle of blocked jobs swaps only when all its machines are up at once, and an operation in
    ``restart`` mode completes only in an up period at least as long as it; at low availability
    either can take longer than any schedule worth simulating.
    """
