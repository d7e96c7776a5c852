"""rl4co's Learning-to-Dispatch PPO, the peer of ``bench_training.py``: environment and training speed, makespans.

    benchmarks/.venv-rl4co/bin/python benchmarks/peer_rl4co.py env --size 10x10 --batch 128 --seconds 10
    benchmarks/.venv-rl4co/bin/python benchmarks/peer_rl4co.py train --size 10x10 --batch 128 --seconds 1800 \
        --evaluate instances.npz

Runs only in the venv that ``bench_training.py`` creates (rl4co 0.7.0 with ``--no-deps`` beside the CPU build of
torch 2.13.0; see ``RL4CO_PACKAGES`` there). Prints one JSON object to stdout.

* ``env``: whole episodes of ``JSSPEnv`` (uniform random instances of the size, ``batch`` at a time) with uniformly
  random legal actions; decisions per second, one decision being one dispatched operation of one instance.
* ``train``: ``L2DPPOModel`` (policy ``L2DPolicy4PPO``) with the settings of rl4co's
  ``configs/experiment/scheduling/gnn-ppo.yaml`` and ``base.yaml`` (embedding 256, 3 GCN layers, instance
  normalisation, batch 128, minibatch 512, 2 PPO epochs, Adam 2e-4 with weight decay 1e-6, reward scaling,
  gradient norm 1, 2,000 training instances per epoch, 32-bit precision), trained by ``RL4COTrainer`` on the CPU
  until ``seconds`` of training have passed (Lightning's ``max_time``; the batch running then completes). Its replay
  buffer stays in memory (rl4co's default) and its learning rate is constant (the configs' per-epoch
  ExponentialLR(0.95) is left out; an epoch is 2,000 instances, about 200,000 decisions on 10x10). Its
  validation loop is off (it would run on rl4co's own instances, inside the timed loop). Reports decisions per
  second of training wall time (environment steps plus PPO updates, from the start of ``fit``) and per second of the
  whole process (imports and set-up included), and the peak resident memory. With ``--evaluate FILE``
  (``machines`` and ``durations``, each ``(instances, jobs, machines)``, machines 0-based) the trained policy then
  schedules those instances greedily and their makespans are reported.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from typing import Any

PROCESS_START = time.perf_counter()

import numpy as np  # noqa: E402  (after the clock: imports count towards the whole-process time)
import torch  # noqa: E402


def parse_size(text: str) -> tuple[int, int]:
    jobs, machines = text.lower().split("x")
    return int(jobs), int(machines)


def instance_tensordict(machines: np.ndarray, durations: np.ndarray) -> Any:
    """The TensorDict rl4co's ``JSSPGenerator`` makes, for given instances (operations numbered job by job).

    Shapes:
        machines, durations: ``(instances, jobs, machines)``, machines 0-based, durations above 0.
    """
    from tensordict import TensorDict

    count, num_jobs, num_machines = machines.shape
    num_operations = num_jobs * num_machines
    machine_of = torch.as_tensor(machines, dtype=torch.long).reshape(count, 1, num_operations)
    duration_of = torch.as_tensor(durations, dtype=torch.float32).reshape(count, 1, num_operations)
    proc_times = torch.zeros(count, num_machines, num_operations).scatter_(1, machine_of, duration_of)
    first = torch.arange(0, num_operations, num_machines, dtype=torch.long).repeat(count, 1)
    return TensorDict(
        {
            "start_op_per_job": first,
            "end_op_per_job": first + num_machines - 1,
            "proc_times": proc_times,
            "pad_mask": torch.zeros(count, num_operations, dtype=torch.bool),
        },
        batch_size=[count],
    )


def makespans_of(td: Any) -> np.ndarray:
    """Makespan of every finished instance of a batch (latest finish time of a real operation)."""
    finish = td["finish_times"].masked_fill(td["pad_mask"], -float("inf"))
    return finish.max(dim=1).values.numpy()


def time_environment(size: tuple[int, int], batch: int, seconds: float, seed: int) -> dict[str, Any]:
    from rl4co.envs import JSSPEnv

    num_jobs, num_machines = size
    env = JSSPEnv(generator_params={"num_jobs": num_jobs, "num_machines": num_machines})
    generator = torch.Generator().manual_seed(seed)

    def episode() -> int:
        td = env.reset(batch_size=[batch])
        steps = 0
        while not td["done"].all():
            action = torch.multinomial(td["action_mask"].float(), 1, generator=generator).squeeze(-1)
            td.set("action", action)
            td = env.step(td)["next"]
            steps += 1
        assert steps == num_jobs * num_machines, steps
        return batch * steps

    episode()  # warm-up
    decisions = episodes = 0
    began = time.perf_counter()
    while episodes == 0 or time.perf_counter() - began < seconds:
        decisions += episode()
        episodes += 1
    wall = time.perf_counter() - began
    return {"decisions_per_s": decisions / wall, "decisions": decisions, "episodes": episodes, "wall_s": wall}


def train(size: tuple[int, int], batch: int, seconds: float, seed: int, evaluate: str | None) -> dict[str, Any]:
    import lightning
    from lightning.pytorch.callbacks import Callback
    from rl4co.envs import JSSPEnv
    from rl4co.models.zoo import L2DPPOModel
    from rl4co.utils import RL4COTrainer

    lightning.seed_everything(seed, verbose=False)
    num_jobs, num_machines = size
    env = JSSPEnv(
        generator_params={"num_jobs": num_jobs, "num_machines": num_machines},
        stepwise_reward=True,
        _torchrl_mode=True,
    )
    model = L2DPPOModel(
        env,
        policy_kwargs={
            "embed_dim": 256,
            "num_encoder_layers": 3,
            "scaling_factor": 99,
            "het_emb": False,
            "normalization": "instance",
            "test_decode_type": "greedy",
        },
        batch_size=batch,
        val_batch_size=512,
        test_batch_size=64,
        mini_batch_size=512,
        ppo_epochs=2,
        reward_scale="scale",
        max_grad_norm=1,
        train_data_size=2000,
        val_data_size=batch,
        test_data_size=batch,
        optimizer_kwargs={"lr": 2e-4, "weight_decay": 1e-6},
    )

    class Counter(Callback):
        def __init__(self) -> None:
            self.decisions = 0
            self.batches = 0
            self.began = 0.0
            self.ended = 0.0

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            self.began = time.perf_counter()

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            self.decisions += int(batch.batch_size[0]) * num_jobs * num_machines
            self.batches += 1
            self.ended = time.perf_counter()

    counter = Counter()
    trainer = RL4COTrainer(
        accelerator="cpu",
        devices=1,
        max_epochs=-1,
        max_time={"seconds": seconds},
        precision="32-true",
        gradient_clip_val=None,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[counter],
    )
    trainer.fit(model)
    training_wall = counter.ended - counter.began
    result: dict[str, Any] = {
        "decisions": counter.decisions,
        "batches": counter.batches,
        "training_wall_s": training_wall,
        "decisions_per_training_s": counter.decisions / training_wall if training_wall > 0 else 0.0,
        "process_wall_s": counter.ended - PROCESS_START,
        "decisions_per_process_s": counter.decisions / (counter.ended - PROCESS_START),
    }
    if evaluate:
        data = np.load(evaluate)
        policy = model.policy.eval()
        evaluation_env = JSSPEnv(
            generator_params={"num_jobs": data["machines"].shape[1], "num_machines": data["machines"].shape[2]},
            stepwise_reward=True,
        )
        began = time.perf_counter()
        with torch.inference_mode():
            td = evaluation_env.reset(instance_tensordict(data["machines"], data["durations"]))
            out = policy(td, evaluation_env, phase="test", decode_type="greedy")
        result["greedy_makespans"] = [float(value) for value in (-out["reward"]).tolist()]
        result["greedy_seconds"] = time.perf_counter() - began
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("env", "train"))
    parser.add_argument("--size", default="10x10", help="jobs x machines of the generated instances")
    parser.add_argument("--batch", type=int, default=128, help="instances per batch")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds (env) or training seconds (train)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--evaluate", default=None, help="train: .npz of instances to schedule greedily afterwards")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    size = parse_size(args.size)
    if args.mode == "env":
        measured = time_environment(size, args.batch, args.seconds, args.seed)
    else:
        measured = train(size, args.batch, args.seconds, args.seed, args.evaluate)
    import rl4co

    measured.update(
        {
            "mode": args.mode,
            "size": args.size,
            "batch": args.batch,
            "rl4co": rl4co.__version__,
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "python": platform.python_version(),
        }
    )
    json.dump(measured, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
