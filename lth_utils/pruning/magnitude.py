"""Pruning as pure functions: (weights, current mask) -> a new mask that is a subset of the current one.

    new = magnitude_prune(weights, mask, rates={"fc1.weight": 0.2, "fc2.weight": 0.2, "fc3.weight": 0.1})
    new = magnitude_prune(weights, mask, rates=..., scope="global")
    rnd = random_prune_like(current_random_mask, counts=layer_counts(new), generator=g)
    rate_for_density(0.019, 18), density_after(18, 0.2) ...

Only surviving weights are ranked, and the result is intersected with the current mask, so a pruned weight never
comes back. Each step removes round(rate * surviving) weights of a layer (layerwise) or of the pooled layers (global).

Ties: weights of equal magnitude are ranked by their position (flattened index, layers in model order for global
scope); the earlier one is pruned first. `torch.sort(stable=True)` gives exactly this order, on every device.
"""
from __future__ import annotations

import torch

from .masks import Mask

SCOPES = ("layerwise", "global")


def layer_rates(names: list[str], rate: float, output_rate: float | None = None, conv_rate: float | None = None,
                conv_names: tuple[str, ...] | list[str] = ()) -> dict[str, float]:
    """The paper's rates: `rate` for every layer, the output layer (last) at `output_rate` (default: rate / 2), and
    the layers in `conv_names` at `conv_rate` when it is given (Conv-2/4: 10%, Conv-6: 15%, fully connected 20%)."""
    rates = {n: conv_rate if conv_rate is not None and n in conv_names else rate for n in names}
    rates[names[-1]] = rate / 2 if output_rate is None else output_rate
    return rates


def scoped_rates(names: list[str], rate: float, output_rate: float | None = None, scope: str = "layerwise",
                 pool_output: bool = False, conv_rate: float | None = None,
                 conv_names: tuple[str, ...] | list[str] = ()) -> tuple[dict[str, float], tuple[str, ...]]:
    """(rates, exclude) for `score_prune`, one rule for the IMP driver and for tickets on your own model: `layer_rates`
    (the output layer at `output_rate`, default rate / 2, as in the paper); with global scope every layer but the
    output layer is ranked in one pool, the output layer on its own at its rate (`exclude`), unless `pool_output`,
    which ranks it in the pool too, every layer at `rate`."""
    if scope == "global" and pool_output:
        return {n: rate for n in names}, ()
    return layer_rates(names, rate, output_rate, conv_rate, conv_names), (names[-1],)


def prune_lowest(scores: torch.Tensor, alive: torch.Tensor, count: int) -> torch.Tensor:
    """Flat bool mask keeping `alive` minus the `count` alive entries of lowest score (ties: lower index first)."""
    alive_idx = alive.nonzero().flatten()
    order = torch.sort(scores[alive_idx], stable=True).indices
    keep = alive.clone()
    keep[alive_idx[order[:count]]] = False
    return keep


def prune_count(alive: int, rate: float) -> int:
    return int(round(rate * alive))


CRITERIA = ("magnitude", "magnitude_increase", "movement")


def criterion_scores(criterion: str, final: dict[str, torch.Tensor], initial: dict[str, torch.Tensor],
                     names) -> dict[str, torch.Tensor]:
    """What a mask criterion keeps the highest of (Zhou et al. 2019): `magnitude` abs(w_final) (IMP, "large final"),
    `magnitude_increase` abs(w_final) - abs(w_initial), `movement` abs(w_final - w_initial)."""
    if criterion == "magnitude":
        return {n: final[n].detach().abs() for n in names}
    if criterion == "magnitude_increase":
        return {n: final[n].detach().abs() - initial[n].detach().abs() for n in names}
    if criterion == "movement":
        return {n: (final[n].detach() - initial[n].detach()).abs() for n in names}
    raise ValueError(f"criterion={criterion!r} is unknown; allowed: {', '.join(CRITERIA)}")


def magnitude_prune(weights: dict[str, torch.Tensor], mask: Mask, rates: dict[str, float],
                    scope: str = "layerwise", exclude: tuple[str, ...] = ()) -> Mask:
    """Prune the smallest-|w| surviving weights (see `score_prune`)."""
    return score_prune({n: weights[n].detach().abs() for n in mask}, mask, rates, scope, exclude)


def score_prune(scores: dict[str, torch.Tensor], mask: Mask, rates: dict[str, float],
                scope: str = "layerwise", exclude: tuple[str, ...] = ()) -> Mask:
    """Prune the surviving weights of lowest score.

    layerwise: each layer loses round(rates[layer] * its surviving weights).
    global:    every layer not in `exclude` is ranked in one pool, which loses round(rate * its surviving weights);
               the pooled layers must share one rate. Excluded layers (the paper's half-rate output layer) are pruned
               layerwise at their own rates. Fewer than two pooled layers is an error: that would be layerwise.
    Returns a new mask (CPU bool tensors); `mask` is not modified.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope={scope!r} is unknown; allowed: {', '.join(SCOPES)}")
    scores = {n: scores[n].detach().float().cpu().flatten() for n in mask}
    alive = {n: mask[n].flatten() for n in mask}
    new = {}
    pooled: list[str] = []
    if scope == "global":
        pooled = [n for n in mask if n not in exclude]
        pool_rates = {rates[n] for n in pooled}
        if len(pooled) < 2:
            raise ValueError(f"global scope pools {pooled} only (excluded: {list(exclude)}); it needs two layers")
        if len(pool_rates) != 1:
            raise ValueError(f"global scope ranks the pooled layers at one rate; got {sorted(pool_rates)}")
        rate = pool_rates.pop()
        flat_alive = torch.cat([alive[n] for n in pooled])
        keep = prune_lowest(torch.cat([scores[n] for n in pooled]), flat_alive,
                             prune_count(int(flat_alive.sum()), rate))
        for n, part in zip(pooled, torch.split(keep, [alive[n].numel() for n in pooled])):
            new[n] = part
    for n in mask:
        if n not in pooled:
            new[n] = prune_lowest(scores[n], alive[n], prune_count(int(alive[n].sum()), rates[n]))
    return {n: new[n].reshape(mask[n].shape) & mask[n] for n in mask}


def random_prune_like(mask: Mask, counts: dict[str, int], generator: torch.Generator) -> Mask:
    """A uniformly random subset of `mask` keeping exactly `counts[layer]` weights per layer (seeded, CPU)."""
    new = {}
    for n, m in mask.items():
        alive_idx = m.flatten().nonzero().flatten()
        if counts[n] > len(alive_idx):
            raise ValueError(f"cannot keep {counts[n]} weights of {n}: only {len(alive_idx)} survive")
        chosen = alive_idx[torch.randperm(len(alive_idx), generator=generator)[:counts[n]]]
        flat = torch.zeros(m.numel(), dtype=torch.bool)
        flat[chosen] = True
        new[n] = flat.reshape(m.shape)
    return new


def rate_for_density(density: float, rounds: int) -> float:
    """The per-round rate p that reaches `density` in `rounds` rounds: p = 1 - density ** (1 / rounds)."""
    if not 0 < density <= 1:
        raise ValueError(f"density={density} must be in (0, 1]")
    if rounds < 1:
        raise ValueError(f"rounds={rounds} must be >= 1")
    return 1.0 - density ** (1.0 / rounds)


def rate_for_sparsity(sizes: dict[str, int], sparsity: float, rounds: int, output_rate: float | None = None,
                      scope: str = "layerwise", pool_output: bool = False) -> float:
    """The per-round rate p (of every layer but the output layer, which prunes at `output_rate`, default p / 2, as
    `scoped_rates`) at which a network with these prunable layers ({name: weights}, in model order) keeps 1 -
    `sparsity` of its weights after `rounds` rounds, up to rounding; 1 - (1 - s)^(1/n) when every layer prunes alike."""
    if not 0 < sparsity < 1:
        raise ValueError(f"sparsity={sparsity} must be in (0, 1)")
    if rounds < 1:
        raise ValueError(f"rounds={rounds} must be >= 1")
    names, kept = list(sizes), (1.0 - sparsity) * sum(sizes.values())
    low, high = 0.0, 1.0
    for _ in range(60):  # the weights kept fall as p grows: bisection
        p = (low + high) / 2
        rates = scoped_rates(names, p, output_rate, scope, pool_output)[0]
        low, high = (p, high) if sum(n * (1 - rates[k]) ** rounds for k, n in sizes.items()) > kept else (low, p)
    return high


def density_after(rounds: int, rate: float) -> float:
    """Fraction kept after `rounds` rounds at `rate` per round, ignoring rounding: (1 - rate) ** rounds."""
    return (1.0 - rate) ** rounds


def layer_sizes_after(sizes: dict[str, int], rates: dict[str, float], rounds: int) -> dict[str, int]:
    """Exact per-layer counts after `rounds` layerwise rounds, with the same rounding as `magnitude_prune`."""
    counts = dict(sizes)
    for _ in range(rounds):
        counts = {n: c - prune_count(c, rates[n]) for n, c in counts.items()}
    return counts


def remaining_after(sizes: dict[str, int], rates: dict[str, float], rounds: int, scope: str = "layerwise",
                    exclude: tuple[str, ...] = ()) -> int:
    """The exact number of weights `magnitude_prune` keeps after `rounds` rounds from dense layers of `sizes`
    (whatever the weights: each round removes round(rate * survivors) per layer, or of the global pool)."""
    if scope == "layerwise":
        return sum(layer_sizes_after(sizes, rates, rounds).values())
    pooled = [n for n in sizes if n not in exclude]
    pool, rest = sum(sizes[n] for n in pooled), {n: sizes[n] for n in exclude}
    for _ in range(rounds):
        pool -= prune_count(pool, rates[pooled[0]])
        rest = layer_sizes_after(rest, rates, 1)
    return pool + sum(rest.values())


def rounds_to_reach(target_density: float, sizes: dict[str, int], rates: dict[str, float],
                    max_rounds: int = 200) -> int:
    """The fewest layerwise rounds after which the overall density is <= target_density."""
    total = sum(sizes.values())
    counts = dict(sizes)
    for k in range(max_rounds + 1):
        if sum(counts.values()) / total <= target_density:
            return k
        counts = layer_sizes_after(counts, rates, 1)
    raise ValueError(f"target_density={target_density} is not reached within {max_rounds} rounds at rates "
                     f"{sorted(set(rates.values()))}; raise the rate or the target")
