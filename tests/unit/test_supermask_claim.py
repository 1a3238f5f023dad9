"""Zhou et al. 2019's untrained-mask number (86% on MNIST) against ours, judged on the interval of the best cell."""
import pandas as pd

from lth_utils.experiments import supermask


def _untrained(cells: dict[tuple[str, int], list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"name": name, "level": level, "trial": t, "density": 0.8 ** level, "test_acc": acc}
                         for (name, level), accs in cells.items() for t, acc in enumerate(accs)])


def test_the_best_cell_by_its_mean_is_judged_on_its_interval():
    table = _untrained({("ticket", 3): [0.50, 0.52, 0.54], ("ticket", 9): [0.84, 0.86, 0.88],
                        ("random_prune", 9): [0.10, 0.11, 0.09]})
    claim = supermask.untrained_claim(table)
    assert (claim["name"], claim["level"], claim["cells"], claim["n"]) == ("ticket", 9, 3, 3)
    assert claim["verdict"] == "consistent with theirs"  # mean 0.86, interval [0.81, 0.91]
    assert supermask.untrained_claim(table, published=0.95)["verdict"] == "below theirs"
    assert supermask.untrained_claim(table, published=0.70)["verdict"] == "above theirs"
    one = _untrained({("ticket", 9): [0.97]})
    assert supermask.untrained_claim(one)["verdict"] == "not resolved"
