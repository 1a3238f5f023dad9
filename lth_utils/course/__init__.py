"""Course (floor 7): what the notebooks and the README need around the experiments. `profiles` (smoke, quick,
standard, paper), `protocol` (what each handout's protocol biases), `comparison` (the paper's claims, one verdict
function each), `readme` (the README's cost section), `notebook` (set-up, provenance, the papermill runner), `sweep`
(papermill over a parameter grid), `exercises` (the notebooks' exercises as settings, and what each costs to run)."""
