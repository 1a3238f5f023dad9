"""The lottery core (floor 4): `rewind` (the rewind vocabulary), `imp` (IMPConfig, the arm table, one run_level task
per (arm, trial, level), the task graph), `tickets` (tickets for your own model and training loop)."""
