"""Foundations (floor 0): what every other package stands on, importing nothing of lth_utils outside this package.
`config` (dataclass -> CLI flags, validation errors, run hash), `seeds` (one seed derivation), `files` (atomic
writes, safe loads, digests), `store` (the run-store layout, provenance, locks), `progress` (bars), `children`
(child processes die with their parent), `forkserver_guard` (what the forkserver preloads)."""
