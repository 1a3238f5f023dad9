"""Execution (floor 5): `engine` (runs a run's tasks in dependency order on local single-thread workers, resumable),
`cluster` (the same tasks on Dask), `costs` (level records, per-iteration rates, projections)."""
